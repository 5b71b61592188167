"""read_crop_folder on small crop folders written here, one rule of its docstring at a time."""

import io
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from linerec.data import crop_folder
from linerec.data.crop_folder import detect_layout, read_crop_folder
from linerec.errors import PipelineError


def jpeg(text="12"):
    image = Image.new("RGB", (48, 16), "white")
    ImageDraw.Draw(image).text((2, 2), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def folder_with(root, files):
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return root


def listing(root):
    """Every entry's bytes and modification time: nothing may change them."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None,
                                             p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


def kinds(result):
    return {(Path(p.file).name, p.row, p.kind) for p in result.problems.problems}


def labels_of(result):
    return {result.names[path]: label for path, label in result.samples}


def test_paddleocr_layout_reads_subfolders_and_gb18030_and_windows_separators(tmp_path):
    root = folder_with(tmp_path / "crops", {
        "a/1.jpg": jpeg(), "a/2.jpg": jpeg(), "3.jpg": jpeg(),
        "rec_gt_train.txt": "a/1.jpg\t皖AD8676\r\na\\2.jpg\t镕堃\r\n\r\n./3.jpg\t京 A\r\n"})
    (root / "rec_gt_train.txt").write_bytes(
        (root / "rec_gt_train.txt").read_text(encoding="utf-8").encode("gb18030"))
    result = read_crop_folder(root)
    assert result.layout == "paddleocr" and "rec_gt_train.txt" in result.reason
    assert result.encoding == "gb18030" and result.blank_rows == 1
    assert labels_of(result) == {"a/1.jpg": "皖AD8676", "a/2.jpg": "镕堃", "3.jpg": "京 A"}
    assert all(path.is_absolute() and path.is_file() for path, _ in result.samples)
    assert not result.problems.problems


def test_every_bad_row_of_a_label_file_is_reported_and_skipped(tmp_path, monkeypatch):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(jpeg())
    root = folder_with(tmp_path / "crops", {
        "0.jpg": jpeg(), "1.jpg": jpeg(), "2.jpg": jpeg(), "3.jpg": jpeg(), "4.jpg": jpeg(),
        "bad.jpg": b"\xff\xd8\xff\xe0 not a jpeg", "spare.jpg": jpeg(), "notes.zip": b"PK",
        "README.md": "about", "labels.tsv": "\n".join([
            "0.jpg\t北京",            # 1: fine
            "0.jpg\t重复",            # 2: duplicate
            "./0.jpg\t重复",          # 3: the same file written another way
            "1.jpg\t",                # 4: empty label
            "2.jpg\ta\tb",            # 5: a tab in the text, or a third column
            "3.jpg\t上",              # 6: a label broken by a newline ...
            "下",                     # 7: ... leaves a line without a tab
            "missing.jpg\t无",        # 8
            "bad.jpg\t坏",            # 9
            "../outside.jpg\t外",     # 10
            f"{outside}\t外",         # 11
            "4.jpg\t路\x00口",         # 12: a control character is dropped
            "link.jpg\t链",           # 13: a symbolic link to outside
        ]) + "\n"})
    (root / "link.jpg").symlink_to(outside)
    before = listing(root)
    opened = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes",
                        lambda self: opened.append(self.resolve()) or real_read_bytes(self))

    result = read_crop_folder(root)

    assert outside.resolve() not in opened, "a path outside the folder was read"
    monkeypatch.undo()
    assert listing(root) == before
    assert labels_of(result) == {"0.jpg": "北京", "3.jpg": "上", "4.jpg": "路口"}
    assert kinds(result) == {
        ("labels.tsv", "2", "duplicate_name"), ("labels.tsv", "3", "duplicate_name"),
        ("labels.tsv", "4", "empty_label"), ("labels.tsv", "5", "extra_field"),
        ("labels.tsv", "7", "missing_field"), ("labels.tsv", "8", "missing_image"),
        ("labels.tsv", "9", "undecodable_image"), ("labels.tsv", "10", "unsafe_path"),
        ("labels.tsv", "11", "unsafe_path"), ("labels.tsv", "12", "label_control_chars"),
        ("labels.tsv", "13", "unsafe_path"),
        ("crops", "spare.jpg", "unlabelled_image"), ("crops", "notes.zip", "not_an_image")}


def test_an_image_the_file_system_refuses_is_reported(tmp_path, monkeypatch):
    root = folder_with(tmp_path / "crops", {"0.jpg": jpeg(), "1.jpg": jpeg(),
                                            "labels.tsv": "0.jpg\t零\n1.jpg\t一\n"})
    real_read_bytes = Path.read_bytes

    def refuse(self):
        if self.name == "1.jpg":
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(self)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = read_crop_folder(root)
    assert labels_of(result) == {"0.jpg": "零"}
    assert kinds(result) == {("labels.tsv", "2", "unreadable_image")}


def test_csv_layout_takes_the_competitions_four_column_gb18030_csv(tmp_path):
    root = folder_with(tmp_path / "crops", {"0.jpg": jpeg(), "1.jpg": jpeg(), "1.jpg.bak": b"x"})
    csv_text = "width,height,name,value\n48,16,0.jpg,朱镕基\n48,16,1.jpg,\"北京,路\"\n"
    (root / "train_label.csv").write_bytes(csv_text.encode("gb18030"))
    result = read_crop_folder(root)
    assert result.layout == "csv" and result.encoding == "gb18030"
    assert labels_of(result) == {"0.jpg": "朱镕基", "1.jpg": "北京,路"}
    assert kinds(result) == {("crops", "1.jpg.bak", "not_an_image")}


def test_filenames_layout_reads_the_text_before_the_first_underscore(tmp_path):
    decomposed = unicodedata.normalize("NFD", "Café")
    root = folder_with(tmp_path / "crops", {
        "皖AD8676.jpg": jpeg(), "皖AD8676_1.jpg": jpeg(), "sub/京A12345_x.png": jpeg(),
        f"{decomposed}.jpg": jpeg(), "_7.jpg": jpeg(), "test/t.jpg": jpeg()})
    result = read_crop_folder(root, exclude=["test"])
    assert result.layout == "filenames"
    assert labels_of(result) == {"皖AD8676.jpg": "皖AD8676", "皖AD8676_1.jpg": "皖AD8676",
                                 "sub/京A12345_x.png": "京A12345", f"{decomposed}.jpg": "Café"}
    assert kinds(result) == {("crops", "_7.jpg", "unlabelled_image")}


def test_filenames_layout_takes_any_rule_with_a_label_group(tmp_path):
    root = folder_with(tmp_path / "crops", {"12_京A.jpg": jpeg(), "x_路.jpg": jpeg()})
    result = read_crop_folder(root, "filenames", filename_label=r"\d+_(?P<label>.+)")
    assert labels_of(result) == {"12_京A.jpg": "京A"}
    assert kinds(result) == {("crops", "x_路.jpg", "unlabelled_image")}
    with pytest.raises(PipelineError, match="no group named 'label'"):
        read_crop_folder(root, "filenames", filename_label=r"\d+_.+")


@pytest.mark.parametrize("files, layout", [
    ({"train_images.zip": b"PK", "labels.tsv": "a\tb\n"}, "competition"),
    ({"labels.tsv": "a\tb\n", "train_label.csv": "name,value\n"}, "paddleocr"),
    ({"label.txt": "a\tb\n"}, "paddleocr"),
    ({"train_label.csv": "name,value\n", "0.jpg": b""}, "csv"),
    ({"0.jpg": b"", "notes.md": "x"}, "filenames"),
])
def test_auto_picks_the_first_layout_that_fits(tmp_path, files, layout):
    assert detect_layout(folder_with(tmp_path / "crops", files))[0] == layout


@pytest.mark.parametrize("files, message", [
    ({}, "no competition zip, no label file and no image file"),
    ({"notes.md": "x", "sub/data.bin": b"1"}, "no competition zip, no label file"),
    ({"labels.tsv": "missing.jpg\t无\n"}, "no usable crop"),
    ({"labels.tsv": b"0.jpg\t\xff\xfe\xfa\n"}, "cannot be decoded"),
])
def test_a_folder_without_a_usable_crop_is_one_clear_error(tmp_path, files, message):
    root = folder_with(tmp_path / "crops", files)
    with pytest.raises(PipelineError, match=message) as caught:
        read_crop_folder(root)
    assert caught.value.fix and str(root) in caught.value.where
    with pytest.raises(PipelineError, match="folder not found"):
        read_crop_folder(tmp_path / "nowhere")


def test_importing_the_reader_has_no_side_effects(tmp_path):
    code = ("import sys, linerec.data.crop_folder; "
            "print(any(m.split('.')[0] == 'paddle' for m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, check=True, env=dict(os.environ))
    assert result.stdout.strip() == "False" and not list(tmp_path.iterdir())
    assert crop_folder.LAYOUTS[0] == "auto"


@pytest.mark.parametrize("label_file", ["../labels.tsv", "/etc/hostname"])
def test_a_label_file_outside_the_folder_is_refused(tmp_path, label_file):
    (tmp_path / "labels.tsv").write_text("0.jpg\t零\n", encoding="utf-8")
    root = folder_with(tmp_path / "crops", {"0.jpg": jpeg()})
    for layout in ("auto", "paddleocr"):
        with pytest.raises(PipelineError, match="data.label_file"):
            read_crop_folder(root, layout, label_file=label_file)


def test_an_image_over_the_size_limit_is_never_decoded(tmp_path):
    root = folder_with(tmp_path / "crops", {"0.jpg": jpeg(), "big.jpg": jpeg() + b"\0" * 4096,
                                            "labels.tsv": "0.jpg\t零\nbig.jpg\t大\n"})
    result = read_crop_folder(root, max_image_mb=3000 / (1024 * 1024))
    assert labels_of(result) == {"0.jpg": "零"}
    assert kinds(result) == {("labels.tsv", "2", "image_too_large")}
