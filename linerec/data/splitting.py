"""The split stage: data/extracted/train_labels.tsv → data/split (train/val/dict) + metrics.

Modes (params ``split:``): ``tail``, the last ``val_size`` lines are validation (the reference
recipe); ``random``, ``val_size`` lines chosen by seed; ``fraction``, ``val_fraction`` of the
lines chosen by seed. Seeded choices rank the lines by SHA-256 of (seed, image name), so they
do not depend on the Python or NumPy version. Both parts keep the file's order.
"""

import hashlib
import json
from pathlib import Path

from linerec.atomic import atomic_dir, write_json, write_text
from linerec.data import dictionary, label_check, split_report
from linerec.data.paths import (DATA_REPORT, DICT_FILE, EXTRACTED_DIR, METRICS_FILE, REPORT, SPLIT_DIR,
                                SUMMARY, TRAIN_IMAGES, TRAIN_LABELS, TRAIN_LIST, VAL_LIST)
from linerec.data.label_lines import read_label_lines
from linerec.errors import PipelineError

MODES = ("tail", "random", "fraction")


def read_labels_tsv(path):
    """[(name, label)] from the extract stage's ``name<TAB>label`` lines."""
    return read_label_lines(path, "extract")


def validation_count(total, mode, val_size, val_fraction):
    size = int(total * val_fraction + 0.5) if mode == "fraction" else val_size
    key = "split.val_fraction" if mode == "fraction" else "split.val_size"
    setting = (f"split.val_fraction = {val_fraction} gives {size} lines" if mode == "fraction"
               else f"split.val_size = {val_size}")
    if size >= total:
        raise PipelineError(
            f"{setting}, but there are only {total} labelled lines: nothing would be left "
            "to train on", where=f"params.yaml: {key}",
            fix=f"set split.val_size below {total} (e.g. {max(1, total // 10)}), or use "
                "split.mode: fraction with split.val_fraction: 0.1")
    if size < 1:
        raise PipelineError(f"{setting} of {total} lines: the validation split would be empty",
                            where=f"params.yaml: {key}",
                            fix="raise split.val_fraction (or use split.mode: tail with val_size)")
    return size


def select_validation(names, mode, val_size=0, val_fraction=0.0, seed=0):
    """A list of booleans, True for the lines that go to validation."""
    if mode not in MODES:
        raise PipelineError(f"unknown split mode {mode!r}", where="params.yaml: split.mode",
                            fix=f"use one of {', '.join(MODES)}")
    total = len(names)
    size = validation_count(total, mode, val_size, val_fraction)
    if mode == "tail":
        chosen = set(range(total - size, total))
    else:
        ranked = sorted(range(total), key=lambda i: (_rank(seed, names[i]), i))
        chosen = set(ranked[:size])
    return [i in chosen for i in range(total)]


def _rank(seed, name):
    return hashlib.sha256(f"{seed}\0{name}".encode("utf-8")).digest()


def image_path(name):
    """The path PaddleOCR's SimpleDataSet reads, relative to the project root."""
    return f"{EXTRACTED_DIR.as_posix()}/{TRAIN_IMAGES}/{name}"


def make_split(params, extracted_dir=EXTRACTED_DIR, split_dir=SPLIT_DIR,
               metrics_file=METRICS_FILE):
    """Runs the stage; returns the whole breakdown (data/split/data_report.json), whose headline
    numbers go to ``metrics_file``."""
    data, split = params.section("data"), params.section("split")
    source = data.get("dictionary", str, choices=dictionary.SOURCES)
    use_space = data.get("use_space_char", bool)
    max_length = data.get("max_text_length", int, minimum=1)
    mode = split.get("mode", str, choices=MODES)
    val_size = split.get("val_size", int, minimum=1) if mode != "fraction" else 0
    val_fraction = split.get("val_fraction", float, minimum=0.0) if mode == "fraction" else 0.0
    seed = split.get("seed", int, default=0)

    samples = read_labels_tsv(Path(extracted_dir) / TRAIN_LABELS)
    extract_report = _read_report(Path(extracted_dir) / REPORT)
    is_val = select_validation([name for name, _ in samples], mode, val_size, val_fraction, seed)
    train = [s for s, v in zip(samples, is_val) if not v]
    val = [s for s, v in zip(samples, is_val) if v]
    chars = dictionary.build(source, [label for _, label in train], use_space)
    checks = {part: label_check.check(lines, chars, use_space, max_length)
              for part, lines in (("train", train), ("val", val))}
    settings = {"mode": mode, "val_size": val_size, "val_fraction": val_fraction, "seed": seed,
                "dictionary": source, "use_space_char": use_space,
                "max_text_length": max_length, "source": str(Path(extracted_dir) / TRAIN_LABELS)}

    report = split_report.metrics(chars, use_space, checks, extract_report)
    with atomic_dir(split_dir) as tmp:
        write_json(tmp / DATA_REPORT, report)
        for file_name, lines in ((TRAIN_LIST, train), (VAL_LIST, val)):
            write_text(tmp / file_name,
                       "".join(f"{image_path(name)}\t{label}\n" for name, label in lines))
        write_text(tmp / DICT_FILE, dictionary.to_text(chars))
        write_text(tmp / SUMMARY,
                   split_report.summary_markdown(settings, chars, checks, extract_report))
    write_json(metrics_file, split_report.headline(report))
    return report


def _read_report(path):
    if not path.is_file():
        raise PipelineError("file not found", where=str(path),
                            fix="run the extract stage first (dvc repro extract)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise PipelineError(f"not valid JSON ({error})", where=str(path),
                            fix="re-run the extract stage") from error
