"""Recognise any folder (or list) of text-line crops with an exported model, without DVC.

    python -m linerec.recognize MODEL_DIR INPUT [-o OUT.tsv] [--batch-size N] [--workers N]
                                [--threads N] [--engine E] [--no-mkldnn] [--recursive]

MODEL_DIR is a folder the export stage wrote (models/export: inference.pdmodel/.pdiparams,
recognizer.json, dict.txt, and inference.onnx for the onnxruntime and openvino engines; --engine
auto, the default, takes the fastest one installed whose file is there: engines.py). INPUT is either

- a folder: its image files (by extension, any case: see IMAGE_EXTENSIONS), sorted by path
  relative to it; --recursive takes subfolders too. Hidden files and folders are skipped.
- a text file listing image paths, one a line (UTF-8; relative ones are relative to the list
  file's folder). A ``path<TAB>label`` line, as in a split file, counts as its path.

Output is TSV, ``image<TAB>text<TAB>confidence`` then one row per input image in input order
(folder images by their path relative to the folder, list entries as written), to OUT (written
whole, or not at all) or to stdout. Messages always go to stderr. An image that cannot be read
or does not exist gets an empty text and confidence 0, is named on stderr, and the run goes on.
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

import argparse
import os
import sys
import time
from pathlib import Path

from linerec.atomic import atomic_path
from linerec.errors import PipelineError, run_main
from linerec.inference import engines
from linerec.inference.predictor import LinePredictor
from linerec.inference.readings import recognize_files, write_readings

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
PROG = "python -m linerec.recognize"


def is_image_name(name):
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def folder_images(folder, recursive=False):
    """(name relative to the folder, path) of the folder's images, sorted by name."""
    folder = Path(folder)
    found = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")] if recursive else []
        for name in files:
            if not name.startswith(".") and is_image_name(name):
                path = Path(parent) / name
                found.append((path.relative_to(folder).as_posix(), path))
    found.sort(key=lambda item: item[0])
    if not found:
        where = " in it or its subfolders" if recursive else ""
        hint = "" if recursive else ", or add --recursive if they are in subfolders"
        raise PipelineError(
            f"no image files{where} (looked for {', '.join(IMAGE_EXTENSIONS)}, any case)",
            where=str(folder), fix=f"pass the folder that holds the crops{hint}")
    return found


def listed_images(list_file):
    """(path as written, path to open) of each entry of a list file, in its order."""
    list_file = Path(list_file)
    if is_image_name(list_file.name):
        raise PipelineError("is an image, not a folder or a list file", where=str(list_file),
                            fix="pass the folder that holds it, or a text file listing it")
    try:
        text = list_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PipelineError("list file is not UTF-8 text", where=str(list_file),
                            fix="pass a folder of images, or a UTF-8 text file with one image "
                                "path a line") from None
    entries = []
    for line in text.splitlines():
        name = line.split("\t", 1)[0].strip()
        if name:
            entries.append((name, list_file.parent / name))
    if not entries:
        raise PipelineError("list file names no images", where=str(list_file),
                            fix="put one image path a line in it (relative to its folder), "
                                "or pass a folder of images")
    return entries


def input_images(source, recursive=False):
    source = Path(source)
    if source.is_dir():
        return folder_images(source, recursive)
    if source.is_file():
        return listed_images(source)
    raise PipelineError("input not found", where=str(source),
                        fix="pass a folder of crops or a text file listing them")


def check_model_dir(model_dir):
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        problem = "model path is not a folder" if model_dir.exists() else "model folder not found"
        raise PipelineError(problem, where=str(model_dir),
                            fix="pass the folder the export stage wrote (models/export after "
                                "`dvc repro export`), with inference.pdmodel, "
                                "inference.pdiparams, recognizer.json and dict.txt")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Recognise a folder or list of text-line crops with an exported "
                               "model; writes image<TAB>text<TAB>confidence.")
    parser.add_argument("model_dir", metavar="MODEL_DIR",
                        help="exported model folder (e.g. models/export)")
    parser.add_argument("input", metavar="INPUT",
                        help="a folder of crops, or a text file listing image paths one a line")
    parser.add_argument("-o", "--output", metavar="OUT.tsv",
                        help="write the TSV here (atomically); default: stdout")
    parser.add_argument("--batch-size", type=int, default=16, metavar="N",
                        help="crops per forward pass (default 16)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="processes recognising at once, each with its own model (default 1)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="math threads per process (default 1)")
    parser.add_argument("--engine", choices=engines.CHOICES, default="auto",
                        help="what runs the model: auto (default: openvino, else onnxruntime, "
                             "else paddle, as installed and exported), paddle, openvino, "
                             "onnxruntime")
    parser.add_argument("--no-mkldnn", action="store_true",
                        help="run Paddle Inference without oneDNN")
    parser.add_argument("--recursive", action="store_true",
                        help="with a folder, include images in its subfolders")
    args = parser.parse_args(argv)
    for option in ("batch_size", "workers", "threads"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be at least 1")
    return args


def main(argv):
    args = parse_args(argv)
    check_model_dir(args.model_dir)
    entries = input_images(args.input, args.recursive)
    predictor = LinePredictor(args.model_dir, batch_size=args.batch_size,
                              cpu_threads=args.threads, enable_mkldnn=not args.no_mkldnn,
                              workers=args.workers, engine=args.engine, where="--engine")
    with predictor:
        started = time.perf_counter()
        # tqdm shows a bar only when stderr is a terminal.
        results, failures = recognize_files(predictor, [path for _, path in entries],
                                            desc="recognize", file=sys.stderr, disable=None)
        elapsed = time.perf_counter() - started
    for position, reason in failures:
        print(f"recognize: {entries[position][1]}: {reason}, empty text", file=sys.stderr)
    names = [name for name, _ in entries]
    if args.output:
        with atomic_path(args.output) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
            write_readings(out, "image", names, results)
        destination = args.output
    else:
        out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n", closefd=False)
        try:
            write_readings(out, "image", names, results)
            out.flush()
        except BrokenPipeError:  # e.g. `| head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        destination = "stdout"
    rate = (len(entries) - len(failures)) / elapsed if elapsed > 0 else 0.0
    print(f"recognize: {len(entries)} images, {len(failures)} unreadable, {rate:.1f} img/s "
          f"({predictor.engine_name}) → {destination}", file=sys.stderr)


if __name__ == "__main__":
    run_main(main)
