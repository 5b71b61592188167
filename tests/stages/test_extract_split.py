"""The extract and split stages as scripts, on a tiny raw dataset full of problems."""

import codecs
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.conftest import run_stage

PARAMS = """\
data:
  raw_dir: data/raw
  dictionary: labels
  use_space_char: true
  max_text_length: 6
extract:
  max_unpacked_mb: {max_mb}
  max_image_mb: 1
split:
  mode: tail
  val_size: {val_size}
  val_fraction: 0.1
  seed: 0
"""

TRAIN_CSV = [
    "name,value",
    "0.jpg,朱镕基",            # 镕: in GBK, not in GB2312
    "",
    '1.jpg,"北京,路"',
    '2.jpg,"a\tb"',
    "3.jpg,",
    "1.jpg,重复",
    "missing.jpg,无图",
    "bad.jpg,坏",
    "zero.jpg,空",
    "4.jpg,堃记",              # 堃: in GBK, not in GB2312
    "5.jpg,京A",
    "6.jpg,北京路口路口路口",
    "7.jpg,Ｚ9",
    "8.jpg,路口Ｑ",
    "9.jpg,京京京京京京京",
]
TEST_CSV = ["width,height,name,value", "40,16,t0.jpg,北京", "40,16,t1.jpg,路口",
            "40,16,t_bad.jpg,坏", "40,16,t9.jpg,无图"]


def jpeg(text):
    image = Image.new("RGB", (48, 16), "white")
    ImageDraw.Draw(image).text((2, 2), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def make_project(root, max_mb=10, val_size=2, train_csv=None):
    root = Path(root)
    raw = root / "data" / "raw"
    raw.mkdir(parents=True)
    (root / "params.yaml").write_text(PARAMS.format(max_mb=max_mb, val_size=val_size))
    with zipfile.ZipFile(raw / "train_images.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("train_images/", b"")
        for i in range(10):
            archive.writestr(f"train_images/{i}.jpg", jpeg(str(i)))
        archive.writestr("train_images/bad.jpg", b"\xff\xd8\xff\xe0 not a jpeg at all")
        archive.writestr("train_images/zero.jpg", b"")
        archive.writestr("train_images/extra.jpg", jpeg("x"))
        archive.writestr("../evil.jpg", jpeg("evil"))
        archive.writestr("/tmp/linerec_abs_evil.jpg", jpeg("evil"))
        archive.writestr("__MACOSX/train_images/._0.jpg", b"\0\5\26\7")
        archive.writestr("b/0.jpg", jpeg("other"))
    text = "\r\n".join(TRAIN_CSV if train_csv is None else train_csv) + "\r\n"
    (raw / "train_label.csv").write_bytes(text.encode("gb18030"))
    with zipfile.ZipFile(raw / "test_images.zip", "w") as archive:
        for name in ("t0.jpg", "t1.jpg"):
            archive.writestr(name, jpeg(name))
        archive.writestr("t_bad.jpg", b"garbage")
        archive.writestr("t2.jpg", jpeg("t2"))
    (raw / "test_label.csv").write_bytes(codecs.BOM_UTF8 + "\n".join(TEST_CSV).encode())
    return root


def fingerprint(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def problems_of(root):
    lines = (root / "data/extracted/problems.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "file\trow\tproblem\taction"
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(row) == 4 for row in rows)
    return {(Path(file).name, row, problem.split(":")[0]) for file, row, problem, _ in rows}


def numbers_only(tree):
    return all(numbers_only(v) if isinstance(v, dict) else
               isinstance(v, (int, float)) and not isinstance(v, bool) for v in tree.values())


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("project"))
    raw_before = fingerprint(root / "data" / "raw")
    extract = run_stage("extract.py", cwd=root)
    split = run_stage("split.py", cwd=root)
    return root, raw_before, extract, split


def test_extract_outputs(project):
    root, _, result, _ = project
    out = root / "data" / "extracted"
    assert (out / "train_labels.tsv").read_bytes().decode("utf-8") == (
        "0.jpg\t朱镕基\n1.jpg\t北京,路\n2.jpg\ta b\n4.jpg\t堃记\n5.jpg\t京A\n"
        "6.jpg\t北京路口路口路口\n7.jpg\tＺ9\n8.jpg\t路口Ｑ\n9.jpg\t京京京京京京京\n")
    assert sorted(p.name for p in (out / "train_images").iterdir()) == [
        f"{i}.jpg" for i in (0, 1, 2, 4, 5, 6, 7, 8, 9)]
    assert (out / "train_images" / "0.jpg").read_bytes() == jpeg("0")  # the first of the two
    assert (out / "test_images.txt").read_text() == "t0.jpg\nt1.jpg\nt_bad.jpg\nt2.jpg\n"
    assert sorted(p.name for p in (out / "test_images").iterdir()) == [
        "t0.jpg", "t1.jpg", "t2.jpg", "t_bad.jpg"]
    assert (out / "test_labels.tsv").read_text(encoding="utf-8") == (
        "t0.jpg\t北京\nt1.jpg\t路口\nt_bad.jpg\t坏\n")
    assert "train: 9 labelled images" in result.stdout and "problems.tsv" in result.stdout


def test_every_problem_is_reported_with_its_row(project):
    root = project[0]
    assert problems_of(root) == {
        ("train_label.csv", "5", "label_control_chars"),
        ("train_label.csv", "6", "empty_label"),
        ("train_label.csv", "7", "duplicate_name"),
        ("train_label.csv", "8", "missing_image"),
        ("train_images.zip", "train_images/bad.jpg", "undecodable_image"),
        ("train_images.zip", "train_images/zero.jpg", "empty_image"),
        ("train_images.zip", "train_images/extra.jpg", "unlabelled_image"),
        ("train_images.zip", "train_images/3.jpg", "unlabelled_image"),  # its row: empty label
        ("train_images.zip", "../evil.jpg", "unsafe_path"),
        ("train_images.zip", "/tmp/linerec_abs_evil.jpg", "unsafe_path"),
        ("train_images.zip", "__MACOSX/train_images/._0.jpg", "os_junk"),
        ("train_images.zip", "b/0.jpg", "name_collision"),
        ("test_images.zip", "t_bad.jpg", "undecodable_image"),
        ("test_images.zip", "t2.jpg", "unlabelled_image"),
        ("test_label.csv", "5", "missing_image"),
    }
    report = json.loads((root / "data/extracted/report.json").read_text(encoding="utf-8"))
    assert report["encoding"] == {"train_label.csv": "gb18030", "test_label.csv": "utf-8-sig"}
    assert report["train"]["labelled"] == 9 and report["train"]["label_rows"] == 14
    assert report["train"]["problems"]["unsafe_path"] == 2
    assert report["train"]["problems"]["truncated_image"] == 0
    assert report["test"]["images"] == 4 and report["test"]["decodable"] == 3
    assert report["problems_total"] == 15


def test_raw_files_unchanged_and_nothing_written_outside(project):
    root, raw_before, _, _ = project
    assert fingerprint(root / "data" / "raw") == raw_before
    assert not Path("/tmp/linerec_abs_evil.jpg").exists()
    everything = {p.relative_to(root).as_posix() for p in root.rglob("*")}
    assert not any("evil" in path for path in everything)
    assert {p.name for p in root.iterdir()} == {"data", "params.yaml", "metrics"}
    assert {p.name for p in (root / "data").iterdir()} == {"raw", "extracted", "split"}


def test_split_outputs_and_metrics(project):
    root, _, _, result = project
    split = root / "data" / "split"
    train = (split / "train.txt").read_text(encoding="utf-8").splitlines()
    val = (split / "val.txt").read_text(encoding="utf-8").splitlines()
    assert train[0] == "data/extracted/train_images/0.jpg\t朱镕基"
    assert val == ["data/extracted/train_images/8.jpg\t路口Ｑ",
                   "data/extracted/train_images/9.jpg\t京京京京京京京"]
    assert len(train) == 7
    for line in train + val:
        assert (root / line.split("\t")[0]).is_file()
    assert (split / "dict.txt").read_text(encoding="utf-8") == "\n".join("朱镕基北京,路ab堃记A口Ｚ9") + "\n"
    metrics = json.loads((split / "data_report.json").read_text(encoding="utf-8"))
    assert numbers_only(metrics)
    headline = json.loads((root / "metrics" / "data.json").read_text(encoding="utf-8"))
    assert headline == {"train_lines": 7, "val_lines": 2, "dictionary_size": 15,
                        "data_problems": metrics["extract"]["problems_total"], "train_dropped": 1,
                        "val_out_of_dict_lines": 1}
    assert metrics["extract"]["train"]["labelled"] == 9
    assert metrics["split"]["dictionary_size"] == 15
    assert metrics["split"]["train"] == {
        "lines": 7, "out_of_dict_lines": 0, "out_of_dict_distinct_chars": 0, "altered_lines": 0,
        "dropped_too_long": 1, "dropped_empty": 0, "dropped_total": 1, "max_length": 8}
    assert metrics["split"]["val"]["out_of_dict_lines"] == 1
    assert metrics["split"]["val"]["out_of_dict_distinct_chars"] == 1
    assert metrics["split"]["val"]["dropped_too_long"] == 1
    summary = (split / "summary.md").read_text(encoding="utf-8")
    assert "| Ｑ | U+FF31 | 1 |" in summary
    assert "7 train / 2 val" in result.stdout


def test_reruns_are_byte_identical(project):
    root = project[0]
    before = fingerprint(root / "data") | {"metrics": fingerprint(root / "metrics")["data.json"]}
    run_stage("extract.py", cwd=root)
    run_stage("split.py", cwd=root)
    after = fingerprint(root / "data") | {"metrics": fingerprint(root / "metrics")["data.json"]}
    assert after == before


@pytest.mark.parametrize("case, expected", [
    ("missing_column", ["train_label.csv: line 1", "'value'", "fix:"]),
    ("truncated_zip", ["train_images.zip", "not a readable zip", "download it again"]),
    ("size_guard", ["train_images.zip", "extract.max_unpacked_mb", "decompression"]),
    ("val_too_large", ["split.val_size = 50", "only 9 labelled lines", "fix:"]),
])
def test_errors_are_one_clear_message(tmp_path, case, expected):
    root = make_project(tmp_path, max_mb=0.001 if case == "size_guard" else 10,
                        val_size=50 if case == "val_too_large" else 2,
                        train_csv=["name,label", "0.jpg,a"] if case == "missing_column" else None)
    if case == "truncated_zip":
        path = root / "data/raw/train_images.zip"
        path.write_bytes(path.read_bytes()[:-200])
    raw_before = fingerprint(root / "data" / "raw")
    if case == "val_too_large":
        run_stage("extract.py", cwd=root)
    result = run_stage("split.py" if case == "val_too_large" else "extract.py", cwd=root,
                       check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr
    assert fingerprint(root / "data" / "raw") == raw_before
    if case != "val_too_large":
        assert not (root / "data" / "extracted").exists()
    else:
        assert not (root / "data" / "split").exists()
