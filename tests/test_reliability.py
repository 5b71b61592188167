"""Reliability, as one place to read it: bad input, interruption and determinism.

``test_bad_input`` is the matrix: every row builds a small project with one fault, runs the real
stage script as DVC would, and checks what the user sees. An error is exit status 2 and an
``error: <where>: <problem>`` line naming the file and its row or member, then a ``fix:`` line,
never a traceback, with the project left exactly as it was. A skip is exit status 0 with the
problem listed (problems.tsv, metrics/data.json). Accepted input is exit status 0 with the line
in the outputs. In every row the files that existed before the stage are byte-identical after.
"""

import ast
import codecs
import hashlib
import io
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw

from tests.conftest import ROOT, copy_project, run_stage

RAW = "data/raw"
# Stages that import Paddle, whose own logging may precede our message on stderr.
PADDLE_STAGES = {"export.py", "evaluate.py", "train.py", "predict.py"}
ABSOLUTE_TARGET = Path("/tmp/linerec_reliability_absolute.jpg")
TINY_MODEL_DICT = "0123456789"


# ---------------------------------------------------------------------------------------------
# Raw input: a tiny competition-format dataset that each case damages in one way.

def jpeg(text="12", mode="RGB", size=(48, 16)):
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((2, 2), text, fill="black")
    buffer = io.BytesIO()
    image.convert(mode).save(buffer, "JPEG")
    return buffer.getvalue()


def png(pixels):
    import cv2

    ok, data = cv2.imencode(".png", pixels)
    assert ok
    return data.tobytes()


@dataclass
class Raw:
    """What a case writes into data/raw and params.yaml; the defaults are a clean dataset."""
    train: list = field(default_factory=lambda: [
        (f"train_images/{i}.jpg", jpeg(str(i))) for i in range(4)])
    rows: list = field(default_factory=lambda: [
        ("0.jpg", "北京"), ("1.jpg", "路口"), ("2.jpg", "京A"), ("3.jpg", "12")])
    test: list = field(default_factory=lambda: [
        (f"test_images/t{i}.jpg", jpeg(f"t{i}")) for i in range(2)])
    csv_text: str = None          # replaces the rows, for layout faults
    csv_encoding: str = "gb18030"
    csv_bytes: bytes = None       # replaces everything, for encoding faults
    params: dict = field(default_factory=dict)   # "section.key" → value
    damage: object = None         # called with the raw folder once it is written

    def csv(self):
        if self.csv_bytes is not None:
            return self.csv_bytes
        text = self.csv_text
        if text is None:
            text = "name,value\n" + "".join(f"{name},{value}\n" for name, value in self.rows)
        return text.encode(self.csv_encoding)

    def write(self, project):
        raw = project / RAW
        raw.mkdir(parents=True)
        _zip(raw / "train_images.zip", self.train)
        _zip(raw / "test_images.zip", self.test)
        (raw / "train_label.csv").write_bytes(self.csv())
        params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
        settings = {"data.raw_dir": RAW, "data.max_text_length": 6,
                    "extract.max_unpacked_mb": 1, "extract.max_image_mb": 1,
                    "split.mode": "tail", "split.val_size": 1, **self.params}
        for key, value in settings.items():
            section, name = key.split(".")
            params.setdefault(section, {})[name] = value
        (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True),
                                             encoding="utf-8")
        if self.damage:
            self.damage(raw)


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members:
            archive.writestr(member, data)


def fingerprint(folder):
    """Every file's hash and every folder, so a leftover temporary folder shows up too."""
    found = {}
    for path in sorted(Path(folder).rglob("*")):
        if "__pycache__" in path.parts:
            continue
        key = path.relative_to(folder).as_posix()
        found[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


def problems_of(project):
    lines = (project / "data/extracted/problems.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "file\trow\tproblem\taction"
    return {(file, row, problem.split(":")[0])
            for file, row, problem, _ in (line.split("\t") for line in lines[1:])}


def labels_of(project):
    text = (project / "data/extracted/train_labels.tsv").read_text(encoding="utf-8")
    return dict(line.split("\t") for line in text.splitlines())


def report_of(project):
    return json.loads((project / "data/extracted/report.json").read_text(encoding="utf-8"))


def data_metrics(project):
    return json.loads((project / "data/split/data_report.json").read_text(encoding="utf-8"))


def export_models():
    """The model names export.model accepts, as stages/export.py defines them."""
    source = (ROOT / "stages/export.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MODELS"
                                                for t in node.targets):
            try:
                return list(ast.literal_eval(node.value))
            except ValueError:
                break
    # MODELS is computed: ask the module itself (in a subprocess: it sets Paddle flags).
    code = ("import json, runpy, sys; "
            "print(json.dumps(list(runpy.run_path(sys.argv[1])['MODELS'])))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "stages/export.py")],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# The cases. Each one damages a Raw (or the project) and says what the stage must do.

@dataclass
class Expect:
    stage: tuple = ("extract.py",)
    before: tuple = ()        # stages that run first, and must succeed
    where: str = ""           # errors: the file and row/member the message starts with
    problem: tuple = ()       # errors: more text the error line must hold
    fix: tuple = ()           # errors: text the fix line(s) must hold
    problems: tuple = ()      # skips: (file, row or member, kind) in problems.tsv
    labels: dict = None       # the (name: label) lines train_labels.tsv must hold
    dropped: tuple = ()       # names that must not reach train_labels.tsv
    check: object = None      # anything else, called with the project

    @property
    def is_error(self):
        return bool(self.where)


CASES = {}


def case(function):
    CASES[function.__name__] = function
    return function


TRAIN_ZIP, TEST_ZIP = f"{RAW}/train_images.zip", f"{RAW}/test_images.zip"
TRAIN_CSV = f"{RAW}/train_label.csv"
BASE_LABELS = {"0.jpg": "北京", "1.jpg": "路口", "2.jpg": "京A", "3.jpg": "12"}


# --- archives ---

@case
def truncated_zip(raw, project):
    raw.damage = lambda folder: _cut(folder / "train_images.zip", 100)
    return Expect(where=TRAIN_ZIP, problem=("not a readable zip archive",),
                  fix=("download it again",))


def _cut(path, count):
    path.write_bytes(path.read_bytes()[:-count])


@case
def corrupt_zip(raw, project):
    raw.damage = lambda folder: (folder / "test_images.zip").write_bytes(
        b"PK\x03\x04" + bytes(range(256)) * 4)
    return Expect(where=TEST_ZIP, problem=("not a readable zip archive",),
                  fix=("download it again",))


@case
def decompression_bomb(raw, project):
    # 3 MB of zeros deflates to a few KB; extract.max_unpacked_mb is 1.
    raw.train.append(("train_images/bomb.jpg", b"\0" * (3 * 1024 * 1024)))
    return Expect(where=TRAIN_ZIP,
                  problem=("extract.max_unpacked_mb", "decompression bomb",
                           "'train_images/bomb.jpg'"),
                  fix=("raise extract.max_unpacked_mb",))


@case
def member_with_dotdot(raw, project):
    raw.train.append(("train_images/../../escape.jpg", jpeg("e")))
    raw.rows.append(("escape.jpg", "逃"))

    def nothing_escaped(project):
        assert not list(project.parent.rglob("escape.jpg"))
    return Expect(problems=((TRAIN_ZIP, "train_images/../../escape.jpg", "unsafe_path"),
                            (TRAIN_CSV, "6", "missing_image")),
                  labels=BASE_LABELS, dropped=("escape.jpg",), check=nothing_escaped)


@case
def member_with_absolute_path(raw, project):
    assert not ABSOLUTE_TARGET.exists()
    raw.train.append((str(ABSOLUTE_TARGET), jpeg("a")))
    return Expect(problems=((TRAIN_ZIP, str(ABSOLUTE_TARGET), "unsafe_path"),),
                  labels=BASE_LABELS, check=lambda _: _absent(ABSOLUTE_TARGET))


@case
def member_is_a_symlink(raw, project):
    link = zipfile.ZipInfo("train_images/link.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    raw.train.append((link, b"/etc/passwd"))
    raw.rows.append(("link.jpg", "链"))
    return Expect(problems=((TRAIN_ZIP, "train_images/link.jpg", "unsafe_path"),),
                  dropped=("link.jpg",),
                  check=lambda p: _absent(p / "data/extracted/train_images/link.jpg"))


def _absent(path):
    assert not os.path.lexists(path), f"{path} was written"


@case
def member_names_collide(raw, project):
    raw.train.append(("other/1.jpg", jpeg("x")))
    return Expect(problems=((TRAIN_ZIP, "other/1.jpg", "name_collision"),), labels=BASE_LABELS,
                  check=lambda p: _same_bytes(p / "data/extracted/train_images/1.jpg",
                                              dict(raw.train)["train_images/1.jpg"]))


def _same_bytes(path, data):
    assert path.read_bytes() == data, f"{path} is not the first member's bytes"


@case
def colliding_test_names_after_flattening(raw, project):
    raw.test.append(("other/t1.jpg", jpeg("dup")))
    return Expect(problems=((TEST_ZIP, "other/t1.jpg", "name_collision"),),
                  check=lambda p: _test_list_is(p, ["t0.jpg", "t1.jpg"]))


@case
def colliding_test_names_with_windows_separators(raw, project):
    raw.test.append(("test_images\\t0.jpg", jpeg("dup")))
    return Expect(problems=((TEST_ZIP, "test_images\\t0.jpg", "name_collision"),),
                  check=lambda p: _test_list_is(p, ["t0.jpg", "t1.jpg"]))


def _test_list_is(project, names):
    listed = (project / "data/extracted/test_images.txt").read_text(encoding="utf-8").split()
    assert listed == names


# --- images ---

@case
def corrupt_jpeg(raw, project):
    raw.train[2] = ("train_images/2.jpg", b"\xff\xd8\xff\xe0 not really a jpeg" * 4)
    return Expect(problems=((TRAIN_ZIP, "train_images/2.jpg", "undecodable_image"),),
                  dropped=("2.jpg",), labels={"3.jpg": "12"})


@case
def zero_byte_jpeg(raw, project):
    raw.train[1] = ("train_images/1.jpg", b"")
    return Expect(problems=((TRAIN_ZIP, "train_images/1.jpg", "empty_image"),),
                  dropped=("1.jpg",), labels={"0.jpg": "北京"})


@case
def truncated_jpeg(raw, project):
    # Noise, so that the cut falls in scan data (a plain white JPEG is mostly headers).
    pixels = np.random.default_rng(0).integers(0, 255, (64, 400, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    raw.train[0] = ("train_images/0.jpg", data[: len(data) * 2 // 3])
    return Expect(problems=((TRAIN_ZIP, "train_images/0.jpg", "truncated_image"),),
                  dropped=("0.jpg",))


@case
def corrupt_test_image(raw, project):
    raw.test.append(("test_images/bad.jpg", b"garbage"))
    raw.test.append(("test_images/empty.jpg", b""))
    return Expect(problems=((TEST_ZIP, "test_images/bad.jpg", "undecodable_image"),
                            (TEST_ZIP, "test_images/empty.jpg", "empty_image")),
                  check=lambda p: _test_list_is(p, ["t0.jpg", "t1.jpg", "bad.jpg", "empty.jpg"]))


@case
def cmyk_jpeg(raw, project):
    raw.train.append(("train_images/cmyk.jpg", jpeg("c", mode="CMYK")))
    raw.rows.append(("cmyk.jpg", "青"))
    return Expect(labels={**BASE_LABELS, "cmyk.jpg": "青"})


@case
def sixteen_bit_png(raw, project):
    pixels = (np.arange(16 * 48 * 3, dtype=np.uint32) * 997 % 65536).astype(np.uint16)
    data = png(pixels.reshape(16, 48, 3))
    assert data[24] == 16  # IHDR bit depth
    raw.train.append(("train_images/deep.png", data))
    raw.rows.append(("deep.png", "深"))
    return Expect(labels={**BASE_LABELS, "deep.png": "深"})


@case
def png_with_alpha(raw, project):
    pixels = np.zeros((16, 48, 4), dtype=np.uint8)
    pixels[4:12, 4:40] = (0, 0, 0, 255)   # opaque text-like bar on a transparent ground
    raw.train.append(("train_images/alpha.png", png(pixels)))
    raw.rows.append(("alpha.png", "透"))
    return Expect(labels={**BASE_LABELS, "alpha.png": "透"})


# --- label CSV: encodings ---

@case
def gb2312_labels(raw, project):
    raw.csv_encoding = "gb2312"
    return Expect(labels=BASE_LABELS, check=lambda p: _encoding_is(p, "gb18030"))


@case
def gbk_only_characters(raw, project):
    raw.rows[0] = ("0.jpg", "朱镕基")      # 镕 and 堃: in GBK, not in GB2312
    raw.rows[1] = ("1.jpg", "堃记")
    raw.csv_encoding = "gbk"
    return Expect(labels={**BASE_LABELS, "0.jpg": "朱镕基", "1.jpg": "堃记"},
                  check=lambda p: _encoding_is(p, "gb18030"))


@case
def gb18030_only_characters(raw, project):
    raw.rows[0] = ("0.jpg", "䶮记")        # 䶮 (extension A) and 𠀀 (extension B): not in GBK
    raw.rows[1] = ("1.jpg", "𠀀路")
    return Expect(labels={**BASE_LABELS, "0.jpg": "䶮记", "1.jpg": "𠀀路"},
                  check=lambda p: _encoding_is(p, "gb18030"))


@case
def utf8_with_bom(raw, project):
    raw.csv_bytes = codecs.BOM_UTF8 + raw.csv().decode("gb18030").encode("utf-8")
    return Expect(labels=BASE_LABELS, check=lambda p: _encoding_is(p, "utf-8-sig"))


def _encoding_is(project, encoding):
    assert report_of(project)["encoding"]["train_label.csv"] == encoding


@case
def undecodable_label_bytes(raw, project):
    raw.csv_bytes = "name,value\n0.jpg,北京\n1.jpg,路".encode("gb18030") + b"\xff\n"
    return Expect(where=TRAIN_CSV, problem=("byte 0xff at line 3",),
                  fix=("save it as UTF-8",))


@case
def utf16_labels(raw, project):
    raw.csv_bytes = raw.csv().decode("gb18030").encode("utf-16")
    return Expect(where=TRAIN_CSV, problem=("UTF-16",), fix=("save it as UTF-8",))


# --- label CSV: layout ---

@case
def missing_column(raw, project):
    raw.csv_text = "name,label\n0.jpg,北京\n"
    return Expect(where=f"{TRAIN_CSV}: line 1", problem=("no 'value' column",),
                  fix=("name,value",))


@case
def extra_field_in_a_row(raw, project):
    raw.csv_text = "name,value\n0.jpg,北京\n1.jpg,北京,路\n2.jpg,京A\n"
    return Expect(where=f"{TRAIN_CSV}: line 3", problem=("3 fields where the header has 2",),
                  fix=("quote a value that contains a comma",))


@case
def missing_field_in_a_row(raw, project):
    raw.csv_text = "name,value\n0.jpg,北京\n1.jpg,路口\n2.jpg\n"
    return Expect(where=f"{TRAIN_CSV}: line 4", problem=("1 fields where the header has 2",),
                  fix=("remove the stray row",))


@case
def quoted_commas_and_quotes(raw, project):
    raw.csv_text = ('name,value\n0.jpg,"北京,路"\n"1.jpg","say ""hi"""\n2.jpg,京A\n'
                    '3.jpg,"多\n行"\n')
    return Expect(labels={"0.jpg": "北京,路", "1.jpg": 'say "hi"', "2.jpg": "京A",
                          "3.jpg": "多 行"},
                  problems=((TRAIN_CSV, "5", "label_control_chars"),))


@case
def blank_lines_and_windows_line_endings(raw, project):
    raw.csv_text = ("name,value\r\n\r\n0.jpg,北京\r\n   \r\n1.jpg,路口\r\n2.jpg,京A\r\n"
                    "3.jpg,12\r\n\r\n")
    return Expect(labels=BASE_LABELS, check=_three_blank_rows)


def _three_blank_rows(project):
    assert report_of(project)["train"]["blank_rows"] == 3


@case
def four_column_form(raw, project):
    raw.csv_text = "width,height,name,value\n" + "".join(
        f"48,16,{name},{value}\n" for name, value in raw.rows)
    return Expect(labels=BASE_LABELS)


# --- label CSV: rows ---

@case
def duplicate_names(raw, project):
    raw.rows.append(("1.jpg", "重复"))
    return Expect(problems=((TRAIN_CSV, "6", "duplicate_name"),), labels=BASE_LABELS)


@case
def empty_labels(raw, project):
    raw.rows[3] = ("3.jpg", "")
    raw.rows.append(("4.jpg", "   "))
    raw.train.append(("train_images/4.jpg", jpeg("4")))
    return Expect(problems=((TRAIN_CSV, "5", "empty_label"), (TRAIN_CSV, "6", "empty_label")),
                  dropped=("3.jpg", "4.jpg"))


@case
def label_without_image(raw, project):
    raw.rows.insert(1, ("gone.jpg", "无图"))
    return Expect(problems=((TRAIN_CSV, "3", "missing_image"),), labels=BASE_LABELS,
                  dropped=("gone.jpg",))


@case
def no_row_matches_an_image(raw, project):
    raw.rows = [(f"x{i}.jpg", value) for i, (_, value) in enumerate(raw.rows)]
    return Expect(where=TRAIN_CSV, problem=("none of the 4 label rows matched",),
                  fix=("the first problems found",
                       f"{TRAIN_ZIP}: train_images/0.jpg: unlabelled_image"))


@case
def missing_raw_file(raw, project):
    raw.damage = lambda folder: (folder / "train_label.csv").unlink()
    return Expect(where=RAW, problem=("missing train_label.csv",), fix=("data.raw_dir",))


# --- a folder of the user's own crops (data.layout; linerec/data/crop_folder.py) ---

CROPS_TSV = f"{RAW}/labels.tsv"
BASE_TSV = [f"{name}\t{value}" for name, value in BASE_LABELS.items()]


def as_crop_folder(raw, lines, files=None, encoding="utf-8"):
    """Makes data/raw a folder of loose crops with a PaddleOCR labels.tsv of ``lines``."""
    files = {f"{i}.jpg": jpeg(str(i)) for i in range(4)} if files is None else files

    def damage(folder):
        for name in ("train_images.zip", "train_label.csv", "test_images.zip"):
            (folder / name).unlink()
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        if lines is not None:
            (folder / "labels.tsv").write_bytes("".join(f"{line}\n" for line in lines)
                                                .encode(encoding))
    raw.damage = damage


@case
def crop_folder_labels_in_gb18030(raw, project):
    as_crop_folder(raw, BASE_TSV + ["4.jpg\t朱镕基"], encoding="gb18030",
                   files={**{f"{i}.jpg": jpeg(str(i)) for i in range(5)}, "test/t0.jpg": jpeg()})

    def listed(project):
        assert report_of(project)["encoding"] == {"labels.tsv": "gb18030"}
        _test_list_is(project, ["t0.jpg"])
    return Expect(labels={**BASE_LABELS, "4.jpg": "朱镕基"}, check=listed)


@case
def crop_folder_row_leaves_the_folder(raw, project):
    as_crop_folder(raw, BASE_TSV + ["../escape.jpg\t逃", f"{ABSOLUTE_TARGET}\t绝"])
    (project / "data").mkdir()
    (project / "data/escape.jpg").write_bytes(jpeg("e"))
    return Expect(problems=((CROPS_TSV, "5", "unsafe_path"), (CROPS_TSV, "6", "unsafe_path")),
                  labels=BASE_LABELS, dropped=("escape.jpg", ABSOLUTE_TARGET.name))


@case
def crop_folder_tab_or_newline_in_a_label(raw, project):
    # In a TSV a tab is a field separator and a newline ends the row: both rows are skipped.
    as_crop_folder(raw, BASE_TSV[:2] + ["2.jpg\t京\tA", "3.jpg\t1", "2"])
    return Expect(problems=((CROPS_TSV, "3", "extra_field"), (CROPS_TSV, "5", "missing_field")),
                  labels={"0.jpg": "北京", "1.jpg": "路口", "3.jpg": "1"}, dropped=("2.jpg",))


@case
def crop_folder_duplicate_and_empty_labels(raw, project):
    as_crop_folder(raw, BASE_TSV[:3] + ["3.jpg\t", "1.jpg\t重复"])
    return Expect(problems=((CROPS_TSV, "4", "empty_label"), (CROPS_TSV, "5", "duplicate_name")),
                  labels={"1.jpg": "路口"}, dropped=("3.jpg",))


@case
def crop_folder_missing_corrupt_and_non_image_files(raw, project):
    as_crop_folder(raw, BASE_TSV + ["gone.jpg\t无"],
                   files={"0.jpg": jpeg(), "1.jpg": jpeg(), "2.jpg": jpeg(),
                          "3.jpg": b"\xff\xd8 broken", "labels.xlsx": b"PK"})
    return Expect(problems=((CROPS_TSV, "5", "missing_image"),
                            (CROPS_TSV, "4", "undecodable_image"),
                            (RAW, "labels.xlsx", "not_an_image")),
                  labels={"0.jpg": "北京"}, dropped=("3.jpg", "gone.jpg"))


@case
def crop_folder_empty(raw, project):
    as_crop_folder(raw, None, files={"notes.md": b"nothing yet"})
    return Expect(where=RAW, problem=("no competition zip, no label file and no image file",),
                  fix=("labels.tsv",))


# --- split: labels PaddleOCR would drop ---

@case
def label_over_max_text_length(raw, project):
    raw.rows.insert(0, ("long.jpg", "北京路口北京路口"))   # 8 > data.max_text_length = 6
    raw.train.append(("train_images/long.jpg", jpeg("long")))

    def counted(project):
        train = data_metrics(project)["split"]["train"]
        assert train["dropped_too_long"] == 1 and train["max_length"] == 8
        assert "`long.jpg` (8 characters)" in (project / "data/split/summary.md").read_text(
            encoding="utf-8")
    return Expect(stage=("split.py",), before=(("extract.py",),), check=counted)


@case
def label_only_outside_the_dictionary(raw, project):
    # split.val_size = 1 makes the last row validation; the dictionary is the train labels'.
    raw.rows.append(("ood.jpg", "ＸＹ"))
    raw.train.append(("train_images/ood.jpg", jpeg("XY")))

    def counted(project):
        val = data_metrics(project)["split"]["val"]
        assert val["dropped_empty"] == 1 and val["out_of_dict_distinct_chars"] == 2
        summary = (project / "data/split/summary.md").read_text(encoding="utf-8")
        assert "| Ｘ | U+FF38 | 1 |" in summary
    return Expect(stage=("split.py",), before=(("extract.py",),), check=counted)


@case
def val_size_larger_than_the_data(raw, project):
    raw.params["split.val_size"] = 50
    return Expect(stage=("split.py",), before=(("extract.py",),),
                  where="params.yaml: split.val_size", problem=("only 4 labelled lines",),
                  fix=("set split.val_size below 4",))


# --- params.yaml ---

@case
def params_wrong_type_split(raw, project):
    raw.params["split.val_size"] = "abc"
    return Expect(stage=("split.py",), where="params.yaml: split.val_size",
                  problem=("expected an integer", "'abc'"), fix=("params.yaml",))


@case
def params_wrong_type_extract(raw, project):
    raw.params["extract.max_unpacked_mb"] = "lots"
    return Expect(where="params.yaml: extract.max_unpacked_mb",
                  problem=("expected a number", "'lots'"), fix=("params.yaml",))


@case
def params_wrong_type_sample(raw, project):
    raw.params["sample.num_train"] = [1, 2]
    return Expect(stage=("sample.py",), where="params.yaml: sample.num_train",
                  problem=("expected an integer",), fix=("params.yaml",))


@case
def params_below_minimum(raw, project):
    raw.params["split.val_size"] = 0
    return Expect(stage=("split.py",), where="params.yaml: split.val_size",
                  problem=("below the minimum 1",), fix=("set split.val_size to 1 or more",))


@case
def params_unknown_split_mode(raw, project):
    raw.params["split.mode"] = "shuffle"
    return Expect(stage=("split.py",), where="params.yaml: split.mode",
                  problem=("'shuffle' is not one of",), fix=("tail", "random", "fraction"))


@case
def params_unknown_model_name(raw, project):
    raw.params["export.model"] = "huge"
    return Expect(stage=("export.py",), where="params.yaml: export.model",
                  problem=("'huge' is not one of",), fix=tuple(export_models()))


@case
def params_not_valid_yaml(raw, project):
    def break_yaml(raw_folder):
        path = project / "params.yaml"
        path.write_text(path.read_text(encoding="utf-8") + "split: [tail,\n", encoding="utf-8")
    raw.damage = break_yaml
    return Expect(where="params.yaml: line", problem=("not valid YAML",),
                  fix=("correct the YAML syntax",))


@case
def params_not_utf8(raw, project):
    def gbk_comment(raw_folder):
        path = project / "params.yaml"
        path.write_bytes("# 参数\n".encode("gbk") + path.read_bytes())
    raw.damage = gbk_comment
    return Expect(where="params.yaml: line 1", problem=("not UTF-8",), fix=("as UTF-8",))


# --- trained models ---

@case
def missing_checkpoint_evaluate(raw, project):
    return Expect(stage=("evaluate.py", "mobile"), where="models/mobile/best/model.json",
                  problem=("no trained model",), fix=("dvc repro train_mobile",))


@case
def missing_checkpoint_export(raw, project):
    raw.params["export.model"] = "mobile"
    return Expect(stage=("export.py",), where="models/mobile/best/model.json",
                  problem=("no trained model",), fix=("dvc repro train_mobile",))


@case
def checkpoint_without_weights(raw, project):
    # A checkpoint folder whose weights file was lost (deleted by hand, a failed copy).
    _tiny_model(project)
    (project / "models/mobile/best/model.pdparams").unlink()
    return Expect(stage=("evaluate.py", "mobile"), where="models/mobile/best/model.pdparams",
                  problem=("checkpoint not found",), fix=("train the model first",))


@case
def export_over_the_size_limit(raw, project):
    _tiny_model(project)
    raw.params["export.model"] = "mobile"
    raw.params["export.max_size_mb"] = 0.01
    return Expect(stage=("export.py",), where="params.yaml: export.max_size_mb",
                  problem=("MB (inference.pdmodel + inference.pdiparams)", "0.01 MB limit"),
                  fix=("export.weights: int16", "shrink the head"))


_TINY_MODEL = {}


def _tiny_model(project):
    """A models/mobile folder with untrained weights, built once per session and copied."""
    if "dir" not in _TINY_MODEL:
        from tests.inference.test_export import fake_trained_model

        home = Path(_TINY_MODEL.setdefault(
            "home", tempfile.mkdtemp(prefix="linerec_reliability_model_")))
        (home / "dict.txt").write_text("\n".join(TINY_MODEL_DICT) + "\n", encoding="utf-8")
        _TINY_MODEL["dir"] = fake_trained_model(home, home / "dict.txt")
    shutil.copytree(_TINY_MODEL["dir"], project / "models/mobile")


@pytest.fixture(scope="module", autouse=True)
def _remove_tiny_model():
    yield
    if "home" in _TINY_MODEL:
        shutil.rmtree(_TINY_MODEL.pop("home"), ignore_errors=True)
        _TINY_MODEL.clear()


# ---------------------------------------------------------------------------------------------
# The matrix.

def error_block(stderr, strict):
    """The message's lines: 'error: ...', then '  fix: ...' and its indented continuation."""
    lines = stderr.rstrip("\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(starts) == 1, f"expected one error line:\n{stderr}"
    if strict:
        assert starts[0] == 0, f"output before the error line:\n{stderr}"
    block = lines[starts[0]:]
    assert len(block) >= 2 and block[1].startswith("  fix: "), f"no fix line:\n{stderr}"
    assert all(line.startswith("    ") for line in block[2:]), f"stray lines:\n{stderr}"
    return block


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(tmp_path, name):
    project = copy_project(tmp_path / "project")
    raw = Raw()
    expect = CASES[name](raw, project)
    raw.write(project)
    for stage in expect.before:
        run_stage(*stage, cwd=project)
    before = fingerprint(project)
    raw_before = fingerprint(project / RAW) if (project / RAW).exists() else {}

    result = run_stage(*expect.stage, cwd=project, check=False, timeout=120)

    after = fingerprint(project)
    assert (fingerprint(project / RAW) if (project / RAW).exists() else {}) == raw_before, \
        "raw data modified"
    assert {k: after.get(k) for k in before} == before, "an existing file changed"
    assert "Traceback" not in result.stderr, result.stderr
    if expect.is_error:
        assert result.returncode == 2, f"{result.returncode}\n{result.stdout}\n{result.stderr}"
        block = error_block(result.stderr, strict=expect.stage[0] not in PADDLE_STAGES)
        assert block[0].startswith(f"error: {expect.where}"), block[0]
        for text in expect.problem:
            assert text in block[0], f"{text!r} not in {block[0]!r}"
        fix = "\n".join(block[1:])
        for text in expect.fix:
            assert text in fix, f"{text!r} not in {fix!r}"
        assert after == before, "a failed stage left or changed files"
        return
    assert result.returncode == 0, f"{result.returncode}\n{result.stdout}\n{result.stderr}"
    assert not result.stderr.strip() or "error" not in result.stderr, result.stderr
    if expect.stage == ("extract.py",):
        problems = problems_of(project)
        for row in expect.problems:
            assert row in problems, f"{row} not in {sorted(problems)}"
        if not expect.problems:
            assert not problems, f"unexpected problems: {sorted(problems)}"
        labels = labels_of(project)
        for key, value in (expect.labels or {}).items():
            assert labels.get(key) == value, f"{key}: {labels.get(key)!r} != {value!r}"
        for key in expect.dropped:
            assert key not in labels
        total = report_of(project)["problems_total"]
        listed = (project / "data/extracted/problems.tsv").read_text(encoding="utf-8")
        assert total == len(listed.splitlines()) - 1
        assert "problems: none" in result.stdout if not total else \
            f"problems: {total}" in result.stdout
    if expect.check:
        expect.check(project)


def test_debug_flag_shows_the_traceback(tmp_path):
    project = copy_project(tmp_path / "project")
    raw = Raw(csv_text="name,label\n0.jpg,北京\n")
    raw.write(project)
    quiet = run_stage("extract.py", cwd=project, check=False)
    loud = run_stage("extract.py", cwd=project, check=False, env={"LINEREC_DEBUG": "1"})
    assert "Traceback" not in quiet.stderr and quiet.returncode == 2
    assert "Traceback (most recent call last)" in loud.stderr and loud.returncode == 1
    assert "PipelineError" in loud.stderr and "train_label.csv: line 1" in loud.stderr


# ---------------------------------------------------------------------------------------------
# Interruption: a killed data stage leaves its output complete or absent.

def test_extract_killed_while_writing_leaves_the_old_output_or_the_new(tmp_path):
    count = 300
    project = copy_project(tmp_path / "project")
    Raw(train=[(f"train_images/{i}.jpg", jpeg(str(i))) for i in range(count)],
        rows=[(f"{i}.jpg", str(i)) for i in range(count)]).write(project)
    csv = project / RAW / "train_label.csv"

    def labels(prefix):
        csv.write_bytes(("name,value\n" + "".join(f"{i}.jpg,{prefix}{i}\n" for i in range(count)))
                        .encode("gb18030"))

    def extracted():
        folder = project / "data/extracted"
        return fingerprint(folder) if folder.exists() else None

    # Two complete outputs that differ in every label, to tell a mix of them from either.
    labels("新")
    run_stage("extract.py", cwd=project)
    new = extracted()
    labels("")
    run_stage("extract.py", cwd=project)
    old = extracted()
    assert old != new
    labels("新")

    rng = random.Random(5)
    outcomes = []
    for _ in range(4):
        # Kill once the stage has written a random number of images, wherever it writes them.
        written = rng.randint(1, count - 20)
        started = time.time_ns()
        process = subprocess.Popen([sys.executable, str(ROOT / "stages/extract.py")],
                                   cwd=project, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if _files_since(project / "data", started) >= written:
                break
            time.sleep(0.001)
        process.send_signal(signal.SIGKILL)
        killed = process.wait() == -signal.SIGKILL
        state = extracted()
        assert state in (old, new, None), "a partial data/extracted after SIGKILL"
        outcomes.append((written, killed, "old" if state == old else
                         "new" if state == new else "absent"))
        if state != old:
            labels("")
            run_stage("extract.py", cwd=project)
            labels("新")
    assert sum(killed and state == "old" for _, killed, state in outcomes) >= 3, outcomes
    run_stage("extract.py", cwd=project)
    assert extracted() == new


# A process that keeps rewriting one checkpoint, as training rewrites latest/ at each evaluation;
# every weight of the checkpoint saved at step n equals n, so a mix of two saves shows.
CHECKPOINT_WRITER = """
import os, sys
import paddle
from linerec.training import checkpoint

DICT = "dict.txt"
open(DICT, "w").write("a")
layer = paddle.nn.Linear(128, 128)
for step in range(int(sys.argv[1]), 10**6):
    with paddle.no_grad():
        for parameter in layer.parameters():
            parameter.set_value(paddle.full(parameter.shape, float(step)))
    checkpoint.save("latest", layer, None, {"step": step}, {"num_classes": 0}, DICT)
    print(step, flush=True)
"""


def _checkpoint_in(folder):
    """(step, every weight equals step) for the checkpoint in folder/latest; None when absent."""
    import paddle

    from linerec.training import checkpoint

    state = checkpoint.read_state(folder / "latest")
    if state is None:
        return None
    layer = paddle.nn.Linear(128, 128)
    checkpoint.load_weights(folder / "latest", layer)
    return state["step"], all(bool((p.numpy() == state["step"]).all())
                              for p in layer.parameters())


def test_a_checkpoint_killed_while_saving_is_whole(tmp_path):
    rng = random.Random(11)
    step = 1
    for _ in range(3):
        process = subprocess.Popen([sys.executable, "-c", CHECKPOINT_WRITER, str(step)],
                                   cwd=tmp_path, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        for _ in range(rng.randint(2, 12)):
            line = process.stdout.readline()
            assert line, "the writer stopped"
        time.sleep(rng.uniform(0, 0.01))   # somewhere inside the next save
        process.send_signal(signal.SIGKILL)
        process.wait()
        found = _checkpoint_in(tmp_path)
        assert found is not None, "no checkpoint after a completed save"
        saved, whole = found
        assert whole, f"the checkpoint of step {saved} mixes two saves"
        assert saved >= int(line), "a completed save was lost"
        step = saved + 1


KILL_BETWEEN_RENAMES = """
import os, sys
import paddle
from linerec.training import checkpoint

DICT = "dict.txt"
open(DICT, "w").write("a")
layer = paddle.nn.Linear(128, 128)
with paddle.no_grad():
    for parameter in layer.parameters():
        parameter.set_value(paddle.full(parameter.shape, 1.0))
checkpoint.save("latest", layer, None, {"step": 1}, {"num_classes": 0}, DICT)
rename = os.replace


def replace(source, target):
    # The new checkpoint is complete and about to become latest/: die as a SIGKILL would.
    if os.path.basename(str(target)) == "latest" and os.path.isdir(source):
        os._exit(9)
    rename(source, target)


os.replace = replace
with paddle.no_grad():
    for parameter in layer.parameters():
        parameter.set_value(paddle.full(parameter.shape, 2.0))
checkpoint.save("latest", layer, None, {"step": 2}, {"num_classes": 0}, DICT)
"""


def test_a_kill_between_the_checkpoint_renames_keeps_a_checkpoint(tmp_path):
    result = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    assert _checkpoint_in(tmp_path) in ((1, True), (2, True))


def _files_since(folder, since_ns):
    count = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                count += os.stat(os.path.join(root, name)).st_mtime_ns >= since_ns
            except FileNotFoundError:   # renamed or removed while we looked
                pass
    return count


# ---------------------------------------------------------------------------------------------
# Determinism: the same params and seed give the same bytes and, on CPU, the same metrics.

def test_same_params_and_seed_give_the_same_sample(tmp_path):
    outputs = []
    for copy in ("a", "b"):
        project = copy_project(tmp_path / copy)
        params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
        params["sample"].update(num_train=6, num_test=2)
        (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True),
                                             encoding="utf-8")
        result = run_stage("sample.py", cwd=project)
        assert "6 train + 2 test images" in result.stdout
        outputs.append(fingerprint(project / "data/sample"))
    assert len(outputs[0]) == 4
    assert outputs[0] == outputs[1]


def test_same_params_and_seed_give_the_same_split(tmp_path):
    project = copy_project(tmp_path / "project")
    raw = Raw(train=[(f"train_images/{i}.jpg", jpeg(str(i))) for i in range(20)],
              rows=[(f"{i}.jpg", f"路{i}") for i in range(20)],
              params={"split.mode": "random", "split.val_size": 5, "split.seed": 3})
    raw.write(project)
    run_stage("extract.py", cwd=project)
    runs = []
    for _ in range(2):
        run_stage("split.py", cwd=project)
        runs.append(fingerprint(project / "data/split")
                    | {"data.json": fingerprint(project / "metrics")["data.json"]})
    assert runs[0] == runs[1]
    val = (project / "data/split/val.txt").read_text(encoding="utf-8").splitlines()
    assert len(val) == 5 and val != [f"data/extracted/train_images/{i}.jpg\t路{i}"
                                     for i in range(15, 20)]
