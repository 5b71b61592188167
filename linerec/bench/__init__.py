"""Benchmarks on this machine, through the pipeline's own trainer, renderer and exporter:
``python -m linerec.bench`` (see __main__.py for the sections and their flags).

    measure.py    child processes measured by the kernel (peak RSS), median (min-max) figures
    child.py      one configuration in a fresh interpreter, configured as a stage
    data.py       realistic lines from linerec.synth
    training.py   training img/s through linerec.training.Trainer
    inference.py  exports (float32 / int16) through LinePredictor and paddleocr's TextRecognizer
    repro.py      dvc repro of a fresh clone, no-op reruns
    rehearsal.py  the competition at its real size through the real stage scripts

Importing this package imports neither Paddle nor paddleocr.
"""
