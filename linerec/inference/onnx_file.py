"""A float32 legacy Paddle program (inference.pdmodel + .pdiparams) as an ONNX file that clients
load with no extra flags: the dictionary is inside it, as metadata ``character`` (the
dictionary's lines joined by newlines, blank and space not included), which is where RapidOCR
reads it from (its onnxruntime session's ``custom_metadata_map["character"].splitlines()``;
its decoder then adds the blank first and the space last: our heads' classes).

``convert`` runs paddle2onnx in this process; ``convert_in_child`` runs it in a child (python -m
linerec.inference.onnx_file), because paddle2onnx kills its process (SIGABRT) on a program it
cannot convert, and a stage must then report an error instead of vanishing.
"""

import json
import subprocess
import sys
from pathlib import Path

from linerec.errors import PipelineError

# 14 is enough for every op our families export to (LayerNorm is decomposed below 17), and
# any onnxruntime of the last years runs it.
ONNX_OPSET = 14
CHARACTER_KEY = "character"
_DONE = "linerec-onnx-written "
_PROJECT = Path(__file__).resolve().parents[2]


def set_characters(onnx_path, characters):
    """Writes the dictionary into the file's metadata (replacing any earlier entry)."""
    import onnx

    model = onnx.load(str(onnx_path))
    props = {prop.key: prop.value for prop in model.metadata_props}
    props[CHARACTER_KEY] = "\n".join(characters)
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(onnx_path))


def read_characters(onnx_path):
    """The dictionary stored by ``set_characters``, or None."""
    import onnx

    for prop in onnx.load(str(onnx_path), load_external_data=False).metadata_props:
        if prop.key == CHARACTER_KEY:
            return prop.value.splitlines()
    return None


def convert(program_dir, onnx_path, characters, opset=ONNX_OPSET):
    """paddle2onnx on program_dir/inference.* (.pdmodel or PIR's .json), in this process; then
    the dictionary metadata (none with ``characters=None``)."""
    try:
        import paddle2onnx
    except ImportError:
        raise PipelineError("paddle2onnx is not installed, so no ONNX file",
                            fix="pip install --no-deps -r requirements.lock") from None
    program_dir = Path(program_dir)
    program = program_dir / "inference.pdmodel"
    if not program.is_file():  # saved in Paddle's PIR mode; paddle2onnx 2 reads that too
        program = program_dir / "inference.json"
    paddle2onnx.export(str(program),
                       str(program_dir / "inference.pdiparams"), str(onnx_path),
                       opset_version=opset, auto_upgrade_opset=True,
                       enable_onnx_checker=True, enable_optimize=True)
    if not Path(onnx_path).is_file():
        raise PipelineError("paddle2onnx wrote no ONNX file", where=str(onnx_path))
    if characters is not None:
        set_characters(onnx_path, characters)
    return {"opset": opset, "paddle2onnx": paddle2onnx.__version__}


def convert_in_child(program_dir, onnx_path, dict_path=None, opset=ONNX_OPSET, timeout=1800):
    """``convert`` in a child process; a failure (or paddle2onnx's abort) is a PipelineError."""
    import os

    command = [sys.executable, "-m", "linerec.inference.onnx_file", str(program_dir),
               str(onnx_path), "--opset", str(opset)]
    if dict_path is not None:
        command += ["--dict", str(dict_path)]
    env = dict(os.environ)
    # The child reads the program in the format it was saved in.
    env["FLAGS_enable_pir_api"] = "0" if (Path(program_dir) / "inference.pdmodel").is_file() else "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PROJECT), env.get("PYTHONPATH")]))
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"the ONNX conversion took over {timeout} s",
                            where=str(onnx_path)) from None
    for line in reversed(result.stdout.splitlines()):
        if result.returncode == 0 and line.startswith(_DONE):
            return json.loads(line[len(_DONE):])
    how = (f"killed by signal {-result.returncode}" if result.returncode < 0
           else f"exit code {result.returncode}")
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-6:])
    raise PipelineError(f"the ONNX conversion failed ({how}):\n{tail}", where=str(onnx_path),
                        fix=f"LINEREC_DEBUG=1 python {' '.join(command[1:])} shows it whole")


def _child_main(argv):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m linerec.inference.onnx_file",
                                     description="A float32 legacy program as an ONNX file.")
    parser.add_argument("program_dir")
    parser.add_argument("onnx_path")
    parser.add_argument("--dict", help="the dictionary file to store in the metadata")
    parser.add_argument("--opset", type=int, default=ONNX_OPSET)
    args = parser.parse_args(argv)
    from linerec.charset import read_dictionary
    from linerec.runtime import configure_stage

    configure_stage(legacy_programs=not (Path(args.program_dir) / "inference.json").is_file())
    summary = convert(args.program_dir, args.onnx_path,
                      read_dictionary(args.dict) if args.dict else None, args.opset)
    print(_DONE + json.dumps(summary), flush=True)


if __name__ == "__main__":
    from linerec.errors import run_main

    run_main(_child_main)
