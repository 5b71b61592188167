"""Safe zip reading: unsafe paths and junk are classified, never written; bombs refused."""

import io
import stat
import struct
import zipfile

import pytest
from PIL import Image

from linerec.data.archive import MB, SafeZip, classify, member_path, unsafe_reason
from linerec.errors import PipelineError


def jpeg(shade=128):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 16), (shade, shade, shade)).save(buffer, "JPEG")
    return buffer.getvalue()


def make_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members:  # name: a path or a ZipInfo
            archive.writestr(name, data)
    return path


def open_zip(path, max_mb=10, max_member_mb=5):
    return SafeZip(path, int(max_mb * MB), int(max_member_mb * MB))


def kinds(archive):
    return {entry.path: (entry.problem[0] if entry.problem else "ok") for entry in archive.entries}


def test_unsafe_paths_are_classified_not_crashed_on(tmp_path):
    link = zipfile.ZipInfo("images/link.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = make_zip(tmp_path / "a.zip", [
        ("images/0.jpg", jpeg()), ("../1.jpg", jpeg()), ("images/../../2.jpg", jpeg()),
        ("/etc/3.jpg", jpeg()), ("C:/4.jpg", jpeg()), ("..\\5.jpg", jpeg()),
        ("a\tb.jpg", jpeg()), (link, b"/etc/passwd"),
    ])
    with open_zip(path) as archive:
        found = kinds(archive)
    assert found == {"images/0.jpg": "ok", "../1.jpg": "unsafe_path",
                     "images/../../2.jpg": "unsafe_path", "/etc/3.jpg": "unsafe_path",
                     "C:/4.jpg": "unsafe_path", "..\\5.jpg": "unsafe_path",
                     "a\tb.jpg": "unsafe_path", "images/link.jpg": "unsafe_path"}


def test_folders_junk_and_collisions(tmp_path):
    path = make_zip(tmp_path / "a.zip", [
        ("train_images/", b""), ("train_images/0.jpg", jpeg(1)), ("b/0.jpg", jpeg(2)),
        ("__MACOSX/train_images/._0.jpg", b"x"), ("train_images/._1.jpg", b"x"),
        ("train_images/.DS_Store", b"x"), ("Thumbs.db", b"x"), ("1.jpg", jpeg(3)),
    ])
    with open_zip(path) as archive:
        entries = archive.entries
        first = archive.read(entries[0])
    assert [(e.path, e.name, e.problem[0] if e.problem else "ok") for e in entries] == [
        ("train_images/0.jpg", "0.jpg", "ok"), ("b/0.jpg", "0.jpg", "name_collision"),
        ("__MACOSX/train_images/._0.jpg", "._0.jpg", "os_junk"),
        ("train_images/._1.jpg", "._1.jpg", "os_junk"),
        ("train_images/.DS_Store", ".DS_Store", "os_junk"), ("Thumbs.db", "Thumbs.db", "os_junk"),
        ("1.jpg", "1.jpg", "ok")]
    assert first == jpeg(1)
    assert "train_images/0.jpg" in entries[1].problem[2]  # says which one is kept


def test_member_over_the_image_limit_is_skipped(tmp_path):
    path = make_zip(tmp_path / "a.zip", [("big.jpg", b"\0" * 300_000), ("ok.jpg", jpeg())])
    with SafeZip(path, 10 * MB, 100_000) as archive:
        assert kinds(archive) == {"big.jpg": "image_too_large", "ok.jpg": "ok"}


def test_declared_size_over_the_limit_is_refused(tmp_path):
    # 3 MB of zeros compresses to a few KB: a small bomb.
    path = make_zip(tmp_path / "bomb.zip", [("a.jpg", b"\0" * (3 * MB))])
    assert path.stat().st_size < 50_000
    with pytest.raises(PipelineError) as caught:
        with open_zip(path, max_mb=2):
            pass
    assert "extract.max_unpacked_mb" in caught.value.problem
    assert caught.value.where == str(path) and "raise extract.max_unpacked_mb" in caught.value.fix


def test_bytes_actually_read_are_counted(tmp_path):
    path = make_zip(tmp_path / "a.zip", [(f"{i}.jpg", b"\1" * 1000) for i in range(3)])
    with open_zip(path) as archive:
        archive.max_unpacked_bytes = 2500  # as if the declared sizes had lied
        archive.read(archive.entries[0])
        archive.read(archive.entries[1])
        with pytest.raises(PipelineError, match="inflates"):
            archive.read(archive.entries[2])


def test_lying_size_fields_are_refused_cleanly(tmp_path):
    path = make_zip(tmp_path / "a.zip", [("a.jpg", b"\1" * 100_000)])
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)  # uncompressed size: 100 bytes, it says
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, 100)
    path.write_bytes(bytes(data))
    with open_zip(path, max_mb=0.01) as archive:
        with pytest.raises(PipelineError) as caught:
            archive.read(archive.entries[0])
    assert "download it again" in caught.value.fix or "malformed" in caught.value.fix


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_zip_is_a_clear_error(tmp_path, cut):
    path = make_zip(tmp_path / "a.zip", [(f"{i}.jpg", jpeg(i)) for i in range(5)])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(PipelineError) as caught:
        with open_zip(path) as archive:
            for entry in archive.entries:
                archive.read(entry)
    assert caught.value.where == str(path)
    assert "download it again" in caught.value.fix


def test_damaged_member_is_a_clear_error(tmp_path):
    path = make_zip(tmp_path / "a.zip", [("a.jpg", bytes(range(256)) * 40)], zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[data.index(bytes(range(256))) + 100] ^= 0xFF  # a flipped byte: CRC mismatch
    path.write_bytes(bytes(data))
    with open_zip(path) as archive:
        with pytest.raises(PipelineError, match="cannot be read") as caught:
            archive.read(archive.entries[0])
    assert "download it again" in caught.value.fix


def test_not_a_zip_and_missing_file(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"hello")
    with pytest.raises(PipelineError, match="not a readable zip"):
        with open_zip(tmp_path / "x.zip"):
            pass
    with pytest.raises(PipelineError, match="not found"):
        with open_zip(tmp_path / "none.zip"):
            pass


def test_names_from_non_utf8_zip_tools_are_recovered():
    info = zipfile.ZipInfo("x")
    info.filename = "镕.jpg".encode("gbk").decode("cp437")  # how zipfile shows a GBK name
    info.flag_bits = 0
    assert member_path(info) == "镕.jpg"
    info.filename = "名.jpg".encode("utf-8").decode("cp437")
    assert member_path(info) == "名.jpg"


def test_unsafe_reason_accepts_ordinary_paths():
    info = zipfile.ZipInfo("a/b/0.jpg")
    assert unsafe_reason("a/b/0.jpg", info) == ""
    assert unsafe_reason("a/b/..jpg", info) == ""  # dots in a name are not a parent reference
    assert classify([info], MB, "x")[0].name == "0.jpg"
