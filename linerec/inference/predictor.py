"""Batched recognition over an exported model: crops sorted by aspect ratio as PaddleOCR does,
one padded width per batch, the forward pass by one of engines.py's engines, greedy CTC
decoding.

The batches, and so the recognised text, are exactly those of paddleocr's TextRecognizer with
``rec_batch_num = batch_size``. What makes it faster without changing them:

- batches run largest first (crops x padded width). Paddle keeps the memory of a finished batch
  for the next; in TextRecognizer's narrowest-first order every batch is wider than any before
  it, so each one allocates (and page-faults) fresh buffers, which for a 6,625-class head are
  N x T x 6,625 floats, and PP-OCRv4's grow its memory by gigabytes. Largest first, the first
  batch allocates them once.
- ``workers > 1`` runs every other batch in helper processes, each with its own predictor.
  Threads cannot do this: Paddle's ``predictor.run`` holds the GIL for the whole forward pass,
  so a second Python thread (to run, decode or resize) waits for it. Preprocessing is also only
  ~2% of the time, so overlapping it would gain little anyway.
- the confidence is read at the argmax instead of by a second pass over N x T x classes.
"""

import atexit
import json
import multiprocessing
import os
import signal
import sys
from pathlib import Path

import numpy as np

from linerec.errors import PipelineError
from linerec.inference import engines
from linerec.inference.preprocess import batch_input, batch_max_ratio, ratio_batches
from linerec.decoding import ctc_decoder

MODEL_FILE = engines.MODEL_FILE
PARAMS_FILE = engines.PARAMS_FILE
# Not inference.json: paddleocr takes a file of that name for a Paddle 3 program.
CONFIG_FILE = "recognizer.json"
DICT_FILE = "dict.txt"
# Recognisers whose input is PaddleOCR's default rule (resize_normalize) and whose output is
# per-step class probabilities for greedy CTC decoding.
ALGORITHMS = ("CRNN", "SVTR_LCNet")


def read_export_config(model_dir):
    path = Path(model_dir) / CONFIG_FILE
    if not path.exists():
        raise PipelineError("export config not found", where=str(path),
                            fix="run the export stage first (dvc repro export)")
    return json.loads(path.read_text(encoding="utf-8"))


def create_paddle_predictor(model_dir, cpu_threads=1, enable_mkldnn=True, use_gpu=False):
    """Paddle Inference's own predictor for the folder, as the paddle engine configures it."""
    return engines.PaddleEngine(model_dir, cpu_threads, enable_mkldnn, use_gpu).predictor


class LinePredictor:
    """``workers``: processes recognising at once, this one included, each with ``cpu_threads``
    math threads (on CPU; one process on GPU). ``engine``: what runs the forward pass (see
    engines.py); ``auto`` picks the fastest one installed for the folder. The library's default
    is Paddle Inference on the competition's program, the reference; stages and the command line
    pass ``predict.engine`` / ``--engine`` (default auto)."""

    def __init__(self, model_dir, batch_size=64, cpu_threads=1, enable_mkldnn=True, use_gpu=False,
                 workers=1, engine="paddle", where="engine"):
        model_dir = Path(model_dir)
        for name in (MODEL_FILE, PARAMS_FILE):
            if not (model_dir / name).exists():
                raise PipelineError("inference model file missing", where=str(model_dir / name),
                                    fix="run the export stage first (dvc repro export)")
        self.engine_name = engines.resolve(engine, model_dir, use_gpu, where=where)
        self.export_config = read_export_config(model_dir)
        algorithm = self.export_config.get("algorithm", "CRNN")
        if algorithm not in ALGORITHMS:
            raise PipelineError(f"algorithm {algorithm!r} is not one this predictor can run",
                                where=str(model_dir / CONFIG_FILE),
                                fix=f"export a model of one of {', '.join(ALGORITHMS)}")
        self.image_shape = self.export_config["image_shape"]
        self.batch_size = batch_size
        # Started first, so that they load while this process builds its own predictor (and
        # while the caller reads its images).
        self.helpers = [] if use_gpu else [
            _Helper(model_dir, batch_size, cpu_threads, enable_mkldnn, self.engine_name)
            for _ in range(workers - 1)]
        self.engine = engines.create_engine(self.engine_name, model_dir, cpu_threads,
                                            enable_mkldnn, use_gpu)
        self.decoder = ctc_decoder(model_dir / DICT_FILE, self.export_config["use_space_char"])

    def run_batch(self, images):
        """Recognises crops of one batch (BGR uint8); returns [(text, confidence)]."""
        probs = self.engine.run(batch_input(images, self.image_shape))
        best = probs.argmax(axis=2)
        # The probability at the argmax is the max: one pass over N x T x classes, not two.
        confidence = np.take_along_axis(probs, best[:, :, None], axis=2)[:, :, 0]
        return [(text, float(conf))
                for text, conf in self.decoder.decode(best, confidence, is_remove_duplicate=True)]

    def batches(self, images):
        """Index arrays of the batches, in aspect-ratio order (TextRecognizer's batches)."""
        return ratio_batches(images, self.batch_size)

    def predict(self, images, progress=None):
        """Recognises all crops; results come back in input order."""
        batches = self.batches(images)
        shares = [batches[i::len(self.helpers) + 1] for i in range(len(self.helpers) + 1)]
        results = [None] * len(images)

        def store(chunk, chunk_results):
            for index, result in zip(chunk, chunk_results):
                results[index] = result
            if progress is not None:
                progress(len(chunk))

        def collect(wait):
            for helper, share in zip(self.helpers, shares[1:]):
                for position, chunk_results in helper.finished(wait):
                    store(share[position], chunk_results)

        try:
            for helper, share in zip(self.helpers, shares[1:]):
                helper.submit([[images[i] for i in chunk] for chunk in share])
            mine = [[images[i] for i in chunk] for chunk in shares[0]]
            for position in largest_first(mine, self.image_shape):
                store(shares[0][position], self.run_batch(mine[position]))
                collect(wait=False)
            collect(wait=True)
        except BaseException:
            # A helper may still be sending results of this call; it cannot serve another.
            self.close()
            raise
        return results

    def wait_ready(self):
        """Returns once every helper process has loaded its engine and run its warm-up batch,
        so that a timed predict measures reading only."""
        try:
            for helper in self.helpers:
                helper.wait_ready()
        except BaseException:
            self.close()
            raise

    def close(self):
        for helper in self.helpers:
            helper.close()
        self.helpers = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the process may already be gone
            pass


def predictor_from_params(model_dir, section):
    """A LinePredictor as params.yaml's predict section configures it: the predict stage's, and
    every evaluate stage's, so that both score the same forward passes."""
    return LinePredictor(model_dir,
                         batch_size=section.get("batch_size", int, minimum=1),
                         cpu_threads=section.get("cpu_threads", int, minimum=1),
                         enable_mkldnn=section.get("enable_mkldnn", bool),
                         # Processes, each with its own engine (see LinePredictor).
                         workers=section.get("workers", int, default=1, minimum=1),
                         engine=section.get("engine", str, default="auto",
                                            choices=engines.CHOICES),
                         where=f"{section.path}: {section.name}.engine")


def largest_first(batches, image_shape):
    """Positions of batches (lists of crops) in decreasing order of their input's size."""
    return sorted(range(len(batches)), reverse=True,
                  key=lambda p: len(batches[p]) * batch_max_ratio(batches[p], image_shape))


class _Helper:
    """A child process with its own predictor, running the batches it is sent largest first."""

    def __init__(self, model_dir, batch_size, cpu_threads, enable_mkldnn, engine):
        # spawn, not fork: a forked copy of a process that has Paddle's thread pools can hang.
        context = multiprocessing.get_context("spawn")
        self.connection, child_end = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child_end, str(model_dir), batch_size, cpu_threads, enable_mkldnn, engine),
            daemon=True, name="linerec-predictor-helper")
        self.process.start()
        child_end.close()
        self.ready = False
        self.pending = 0
        # Before multiprocessing's own exit hook, which would kill it mid-run (Paddle then
        # prints a fatal-signal report).
        atexit.register(self.close)

    def _receive(self):
        try:
            message = self.connection.recv()
        except EOFError:
            raise PipelineError("an inference helper process ended unexpectedly",
                                fix="predict with workers: 1, or free memory") from None
        if message[0] == "error":
            raise PipelineError(f"an inference helper process failed: {message[1]}",
                                fix="predict with workers: 1 to see the error in this process")
        return message

    def wait_ready(self):
        if not self.ready:
            self._receive()
            self.ready = True

    def submit(self, batches):
        self.wait_ready()
        if batches:
            # One message, sent while the helper waits for it: a message per batch would make
            # the helper wait on this process, which holds the GIL for each forward pass.
            self.connection.send(batches)
            self.pending = len(batches)

    def finished(self, wait):
        """(position in the submitted list, results) of batches done; all of them with wait."""
        while self.pending and (wait or self.connection.poll()):
            _, position, results = self._receive()
            self.pending -= 1
            yield position, results

    def close(self):
        if self.connection.closed:
            return
        if self.process.is_alive():
            try:
                self.connection.send(None)
            except OSError:
                pass
            self.process.join(timeout=5)
            if self.process.is_alive():
                self.process.terminate()
        self.connection.close()


def _serve(connection, model_dir, batch_size, cpu_threads, enable_mkldnn, engine):
    # Ctrl-C reaches the whole process group; the parent handles it and closes this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A spawned process starts with the parent's sys.path, to which paddleocr's tools add its
    # own package folder; there paddleocr/paddleocr.py would be found as `import paddleocr`.
    sys.path[:] = [p for p in sys.path if not os.path.isfile(os.path.join(p or ".", "__init__.py"))]
    try:
        predictor = LinePredictor(model_dir, batch_size, cpu_threads, enable_mkldnn, engine=engine)
        # Pays the first run's one-off costs before any real batch arrives.
        channels, height, width = predictor.image_shape
        predictor.run_batch([np.full((height, width, channels), 255, np.uint8)])
        connection.send(("ready",))
        while True:
            batches = connection.recv()
            if batches is None:
                return
            for position in largest_first(batches, predictor.image_shape):
                connection.send(("done", position, predictor.run_batch(batches[position])))
    except EOFError:
        return
    except Exception as error:  # reported by the parent, which raises it as a PipelineError
        connection.send(("error", f"{type(error).__name__}: {error}"))
