"""Export formats besides the competition's (``inference.pdmodel`` + ``inference.pdiparams``,
see export.py), each written from a trained checkpoint (``models/<name>``) into its own folder:

- ``paddlex`` (``write_paddlex_dir``): a PaddleOCR 3.x / PaddleX model directory, Paddle 3's
  program format ``inference.json`` + ``inference.pdiparams`` (float32) and ``inference.yml``
  naming the model and carrying the preprocessing and the dictionary. PaddleOCR 3.x loads it
  with the name the yml gives (it refuses any other)::

      from paddleocr import TextRecognition
      TextRecognition(model_dir=DIR, model_name="PP-OCRv6_tiny_rec").predict(bgr_crops)

  PaddleX adds the space class after the dictionary itself, so only heads built with
  ``use_space_char`` (blank, dictionary, space: what every family here builds) are written.
- ``onnx`` (``write_onnx``): ``inference.onnx``, converted by paddle2onnx from a float32 legacy
  export of the same weights (paddle2onnx aborts on the int16/float16/int8-stored weights of
  weight_storage.py, so the competition's export itself is never converted), beside the same
  ``inference.yml`` (PaddleX's onnxruntime engine reads the pair), ``dict.txt`` and
  ``recognizer.json``; the dictionary is also in the file's metadata (onnx_file.py), where
  RapidOCR reads it. Input ``x`` (N, 3, H, W) float32 as preprocess.batch_input makes it;
  output (N, T, classes) probabilities for greedy CTC decoding.

Each runs in a child process (``python -m linerec.inference.export_formats FORMAT CHECKPOINT_DIR
OUT_DIR``): Paddle writes ``inference.json`` only in its PIR mode and the legacy program only
with FLAGS_enable_pir_api=0, and either must be chosen before paddle is first imported, so one
process cannot write both; and paddle2onnx kills its process (SIGABRT) on a program it cannot
convert. The child checks what it wrote against the trained model on a fixed input (Paddle
Inference on the new program; onnxruntime on the ONNX file), writes the folder atomically and
reports a summary; a failure becomes a PipelineError here.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from linerec.errors import PipelineError
from linerec.inference import engines
from linerec.inference.onnx_file import ONNX_OPSET

FORMATS = ("paddle", "paddlex", "onnx")
PADDLEX_PROGRAM = "inference.json"
PADDLEX_PARAMS = "inference.pdiparams"
PADDLEX_CONFIG = "inference.yml"
PADDLEX_FILES = (PADDLEX_PROGRAM, PADDLEX_PARAMS, PADDLEX_CONFIG)
ONNX_FILE = engines.ONNX_FILE
# How far the written program's probabilities may stray from the trained model's on the probe:
# reordered float32 arithmetic only (measured: ~1e-4 Paddle PIR, ~5e-5 onnxruntime).
MAX_DRIFT = 1e-3
# The name PaddleX's inference.yml gives: PaddleX requires one of its own text recognisers'
# names and the same name from the caller; the static-program predictor is the same for all.
PADDLEX_NAMES = {("PPOCRv6", "tiny"): "PP-OCRv6_tiny_rec",
                 ("PPOCRv6", "small"): "PP-OCRv6_small_rec",
                 ("PPOCRv4", None): "PP-OCRv4_mobile_rec",
                 # Our CRNN (MobileNetV3 + BiLSTM + CTC) has no PaddleX name of its own.
                 ("CRNN", None): "PP-OCRv4_mobile_rec"}
_SUMMARY = "linerec-export-summary "
_PROJECT = Path(__file__).resolve().parents[2]


# --- what the folders hold --------------------------------------------------------------------

def paddlex_model_name(info):
    """PaddleX's ``Global.model_name`` for a checkpoint's model.json."""
    description = info["description"]
    family = description["family"]
    variant = description["options"].get("variant", "small") if family == "PPOCRv6" else None
    return PADDLEX_NAMES[(family, variant)]


def paddlex_config(info, characters):
    """inference.yml as a dict: what PaddleX's text recogniser reads (Global.model_name,
    PreProcess.transform_ops, PostProcess) and nothing else."""
    if not info["use_space_char"]:
        raise PipelineError("PaddleX decodes with a space class after the dictionary, which this "
                            "model's head lacks (use_space_char: false)",
                            fix="export it in the paddle format only")
    if info["num_classes"] != len(characters) + 2:
        raise PipelineError(f"the head has {info['num_classes']} classes, not blank + "
                            f"{len(characters)} characters + space", where="model.json")
    return {
        "Global": {"model_name": paddlex_model_name(info)},
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            # PaddleX's resize is resize_normalize (height to H, width by aspect ratio, never
            # below W, [-1, 1], zero padding), capped at a width of 3,200.
            {"RecResizeImg": {"image_shape": list(info["image_shape"])}},
        ]},
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": list(characters)},
    }


def write_paddlex_config(out_dir, info, dict_path):
    import yaml

    from linerec.charset import read_dictionary

    config = paddlex_config(info, read_dictionary(dict_path))
    (Path(out_dir) / PADDLEX_CONFIG).write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def folder_size(out_dir):
    return sum(path.stat().st_size for path in Path(out_dir).iterdir() if path.is_file())


# --- the parent side: one child process per format --------------------------------------------

def check_formats(formats, where="params.yaml: export.formats"):
    """A params list of formats: known names, each once, the competition's ``paddle`` among
    them (evaluate and predict read it)."""
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise PipelineError(f"expected a list of format names, got {formats!r}", where=where,
                            fix=f"e.g. [{', '.join(FORMATS)}]")
    for fmt in formats:
        if fmt not in FORMATS:
            raise PipelineError(f"unknown export format {fmt!r}", where=where,
                                fix=f"use some of: {', '.join(FORMATS)}")
    if len(set(formats)) != len(formats):
        raise PipelineError("a format is listed twice", where=where)
    if "paddle" not in formats:
        raise PipelineError("the competition's paddle format is missing", where=where,
                            fix="keep paddle in the list: evaluate and predict read it")
    return list(formats)


def write_formats(formats, checkpoint_dir, out_dir, which="best"):
    """Every format of ``formats`` but ``paddle`` as ``out_dir/<format>/``, beside
    ``out_dir/formats.json`` (their summaries); ``out_dir`` is replaced whole and exists even
    when there is nothing to write, so that it can be a stage's output."""
    from linerec.atomic import atomic_dir

    writers = {"paddlex": write_paddlex_dir, "onnx": write_onnx}
    summaries = {}
    with atomic_dir(out_dir) as tmp:
        for fmt in formats:
            if fmt in writers:
                summaries[fmt] = writers[fmt](checkpoint_dir, tmp / fmt, which)
        (tmp / "formats.json").write_text(json.dumps(summaries, indent=2) + "\n", encoding="utf-8")
    return summaries


def write_paddlex_dir(checkpoint_dir, out_dir, which="best", timeout=1800):
    """Writes the PaddleX directory of ``checkpoint_dir/which`` to ``out_dir`` (replaced whole);
    returns the child's summary (files, size_bytes, model_name, max_output_drift)."""
    return _run_child("paddlex", checkpoint_dir, out_dir, which, timeout)


def write_onnx(checkpoint_dir, out_dir, which="best", opset_version=ONNX_OPSET, timeout=1800):
    """Writes ``out_dir/inference.onnx`` (+ inference.yml, dict.txt, recognizer.json) of
    ``checkpoint_dir/which``; returns the child's summary."""
    return _run_child("onnx", checkpoint_dir, out_dir, which, timeout,
                      ["--opset", str(opset_version)])


def _child_env(fmt):
    env = dict(os.environ)
    # The program format is the child's own choice, whatever this process was started with.
    env["FLAGS_enable_pir_api"] = "1" if fmt == "paddlex" else "0"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT), env.get("PYTHONPATH")]))
    return env


def _run_child(fmt, checkpoint_dir, out_dir, which, timeout, extra=()):
    command = [sys.executable, "-m", "linerec.inference.export_formats", fmt,
               str(checkpoint_dir), str(out_dir), "--which", which, *extra]
    try:
        result = subprocess.run(command, env=_child_env(fmt), capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"the {fmt} export took over {timeout} s", where=str(out_dir)) from None
    for line in reversed(result.stdout.splitlines()):
        if result.returncode == 0 and line.startswith(_SUMMARY):
            return json.loads(line[len(_SUMMARY):])
    messages = [line for line in (result.stdout + "\n" + result.stderr).splitlines()
                if line.startswith(("error:", "  fix:", "  at ", "[ERROR]"))]
    how = (f"killed by signal {-result.returncode}" if result.returncode < 0
           else f"exit code {result.returncode}")
    tail = "\n".join(line.removeprefix("error: ")
                     for line in messages or result.stderr.strip().splitlines()[-8:])
    raise PipelineError(f"the {fmt} export failed ({how}):\n{tail}", where=str(out_dir),
                        fix=f"LINEREC_DEBUG=1 python {' '.join(command[1:])} shows it whole")


# --- the child side ---------------------------------------------------------------------------

def _export_paddlex(model, info, dict_path, out):
    """In a PIR-mode process: jit.save writes inference.json; Paddle Inference re-runs it."""
    import numpy as np
    from paddle import inference
    from paddle.framework import use_pir_api

    from linerec.inference.export import save_program

    if not use_pir_api():
        raise PipelineError("Paddle is not in its PIR mode, so it cannot write inference.json",
                            fix="unset FLAGS_enable_pir_api (write_paddlex_dir does)")
    probe, reference = save_program(model, info["image_shape"], out)
    write_paddlex_config(out, info, dict_path)
    written = sorted(path.name for path in out.iterdir())
    if written != sorted(PADDLEX_FILES):
        raise PipelineError(f"Paddle wrote {written}, not {list(PADDLEX_FILES)}", where=str(out),
                            fix="use paddlepaddle 3.x")
    config = inference.Config(str(out / PADDLEX_PROGRAM), str(out / PADDLEX_PARAMS))
    config.disable_gpu()
    config.set_cpu_math_library_num_threads(1)
    config.disable_glog_info()
    predictor = inference.create_predictor(config)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.reshape(probe.shape)
    handle.copy_from_cpu(probe)
    predictor.run()
    output = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    return {"model_name": paddlex_model_name(info),
            "max_output_drift": float(np.abs(output - reference).max())}


def _export_onnx(model, info, dict_path, out, opset):
    """In a legacy-mode process: a float32 legacy export in a temporary folder, paddle2onnx,
    then onnxruntime re-runs the ONNX file."""
    import numpy as np
    import onnxruntime

    from linerec.charset import read_dictionary
    from linerec.inference import export, onnx_file

    with tempfile.TemporaryDirectory() as tmp:
        probe, reference = export.export_inference_model(model, info["image_shape"], tmp, "float32")
        made = onnx_file.convert(tmp, out / ONNX_FILE, read_dictionary(dict_path), opset)
    export.write_export_config(out, info, dict_path)
    write_paddlex_config(out, info, dict_path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(out / ONNX_FILE), options,
                                           providers=["CPUExecutionProvider"])
    output = session.run(None, {session.get_inputs()[0].name: probe})[0]
    return {**made, "max_output_drift": float(np.abs(output - reference).max())}


def _child_main(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m linerec.inference.export_formats",
                                     description="Writes one export format of a trained model.")
    parser.add_argument("format", choices=("paddlex", "onnx"))
    parser.add_argument("checkpoint_dir", help="models/<name>, holding best/ and latest/")
    parser.add_argument("out_dir")
    parser.add_argument("--which", default="best")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET)
    args = parser.parse_args(argv)
    if "paddle" not in sys.modules:
        os.environ["FLAGS_enable_pir_api"] = "1" if args.format == "paddlex" else "0"
    from linerec.runtime import configure_stage

    configure_stage(legacy_programs=args.format == "onnx")

    from linerec.atomic import atomic_dir
    from linerec.model_store import load_trained

    model, info, dict_path = load_trained(args.checkpoint_dir, args.which)
    with atomic_dir(args.out_dir) as out:
        if args.format == "paddlex":
            summary = _export_paddlex(model, info, dict_path, out)
        else:
            summary = _export_onnx(model, info, dict_path, out, args.opset)
        if summary["max_output_drift"] > MAX_DRIFT:
            raise PipelineError(f"the {args.format} export disagrees with the trained model "
                                f"(max difference {summary['max_output_drift']:.2e})",
                                fix="report this with LINEREC_DEBUG=1 output")
        summary.update(format=args.format, files=sorted(p.name for p in out.iterdir()),
                       size_bytes=folder_size(out))
    print(_SUMMARY + json.dumps(summary, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    from linerec.errors import run_main

    run_main(_child_main)
