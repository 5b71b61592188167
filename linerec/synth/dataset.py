"""Writes the sample in the competition's layout: image zips and GB18030 label CSVs.

data/sample/train_images.zip   train_images/<i>.jpg
data/sample/train_label.csv    name,value   (GB18030)
data/sample/test_images.zip    test_images/<i>.jpg
data/sample/test_label.csv     the answers for the test images, which only the sample has
"""

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from linerec.atomic import atomic_dir
from linerec.charset import ppocr_keys_path, read_dictionary
from linerec.errors import PipelineError
from linerec.synth import fonts, render, text

SPLITS = ("train", "test")
LABEL_ENCODING = "gb18030"
LABEL_HEADER = ("name", "value")
# Fixed member metadata, so the same params give the same bytes on any day and any OS.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)
ZIP_COMMENT = b"linerec synthetic street-sign sample"


@dataclass(frozen=True)
class SampleSpec:
    seed: int = 2024
    num_train: int = 4000
    num_test: int = 500
    profile: str = text.STREET
    min_chars: int = 2
    max_chars: int = 8
    charset_size: int = 100
    difficulty: float = 0.3

    def __post_init__(self):
        if self.profile not in text.PROFILES:
            _bad("profile", f"{self.profile!r} is not one of {', '.join(text.PROFILES)}",
                 f"use one of {', '.join(text.PROFILES)}")
        if self.num_train < 1 or self.num_test < 1:
            _bad("num_train" if self.num_train < 1 else "num_test", "must be at least 1",
                 "ask for one image or more")
        if not 0.0 <= self.difficulty <= 1.0:
            _bad("difficulty", f"{self.difficulty} is outside [0, 1]", "use a value from 0 to 1")
        if not 1 <= self.min_chars <= self.max_chars:
            _bad("min_chars", f"need 1 <= min_chars <= max_chars, got {self.min_chars} and "
                              f"{self.max_chars}", "raise max_chars or lower min_chars")
        if self.charset_size < text.MIN_STREET_CHARSET:
            _bad("charset_size", f"{self.charset_size} is below {text.MIN_STREET_CHARSET}, the "
                                 "digits, letters and address words every sign needs",
                 f"use {text.MIN_STREET_CHARSET} or more")


def _bad(key, problem, fix):
    raise PipelineError(problem, where=f"params.yaml: sample.{key}", fix=f"{fix} in params.yaml")


def build_profile(spec, drawable):
    if spec.profile == text.STREET:
        return text.street_profile(spec.charset_size, spec.min_chars, spec.max_chars, drawable)
    return text.realistic_profile(read_dictionary(ppocr_keys_path()), drawable)


class CropRenderer:
    """Renders the lines of a spec's profile; a crop depends only on (seed, stream, index)."""

    def __init__(self, spec, font_dir=None):
        font_paths = fonts.find_fonts(font_dir)
        self.spec = spec
        self.profile = build_profile(spec, fonts.drawable_chars(font_paths))
        self.lines = text.SignText(self.profile)
        self.faces = fonts.faces(font_paths)

    def crops(self, stream, count):
        """Yields (name, text, JPEG bytes) of crops 0..count-1 of one stream (a split's id)."""
        for index in range(count):
            # One generator per image: image i is the same whatever the count is.
            rng = np.random.default_rng([self.spec.seed, stream, index])
            line = self.lines.line(rng)
            face = self.faces[int(rng.integers(len(self.faces)))]
            yield f"{index}.jpg", line, render.render_jpeg(line, face, rng, self.spec.difficulty)


def write_sample(out_dir, spec, font_dir=None):
    """Renders both splits into ``out_dir``; returns what it wrote, for the stage to report.

    All four files appear together or not at all: they are written into a temporary folder
    beside ``out_dir``, which replaces it whole (one rename) once every image has been rendered.
    """
    out_dir = Path(out_dir)
    _refuse_foreign_data(out_dir)
    renderer = CropRenderer(spec, font_dir)
    counts = {"train": spec.num_train, "test": spec.num_test}
    labels = {}
    with atomic_dir(out_dir) as tmp:
        for split_id, split in enumerate(SPLITS):
            rows = []
            with _image_zip(tmp / f"{split}_images.zip") as archive:
                for name, line, jpeg in renderer.crops(split_id, counts[split]):
                    _add_member(archive, f"{split}_images/{name}", jpeg)
                    rows.append((name, line))
            (tmp / f"{split}_label.csv").write_bytes(labels_csv(rows))
            labels[split] = rows
    used = set("".join(value for rows in labels.values() for _, value in rows))
    return {
        "profile": renderer.profile.name,
        "charset_size": len(renderer.profile.charset),
        "chars_used": len(used),
        "counts": {split: len(rows) for split, rows in labels.items()},
        "files": {path.name: path.stat().st_size for path in sorted(out_dir.iterdir())
                  if path.name in _OUTPUT_NAMES},
    }


_OUTPUT_NAMES = tuple(f"{s}_{kind}" for s in SPLITS for kind in ("images.zip", "label.csv"))


def labels_csv(rows):
    """``name,value`` rows as GB18030 bytes; the csv module quotes commas and quotes in values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LABEL_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(LABEL_ENCODING)


def _image_zip(path):
    archive = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED)
    archive.comment = ZIP_COMMENT
    return archive


def _add_member(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED  # JPEGs do not deflate; storing is fast
    info.create_system = 3  # otherwise it records whether the writer ran on Windows
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _refuse_foreign_data(out_dir):
    # data.raw_dir may point at the real competition files; never render over those, and never
    # replace a folder that holds anything else.
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in _OUTPUT_NAMES)
        if foreign:
            raise PipelineError(
                f"holds files the sample stage did not write ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}), which rendering the sample would replace",
                where=str(out_dir), fix="move them elsewhere, or render the sample to another folder")
    for split in SPLITS:
        path = out_dir / f"{split}_images.zip"
        if not path.exists():
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                ours = archive.comment == ZIP_COMMENT
        except zipfile.BadZipFile:
            ours = False
        if not ours:
            raise PipelineError(
                "holds an archive the sample stage did not write (the real competition data?)",
                where=str(path),
                fix="point data.raw_dir at data/sample to render the sample, or move the file away")
