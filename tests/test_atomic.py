"""Outputs written whole: what a killed writer left behind is cleaned up by the next write."""

from linerec import atomic


def test_a_killed_writers_temporary_folder_is_removed_by_the_next_write(tmp_path):
    leftover = tmp_path / ".latest.k2j3h4.tmp"
    (leftover / "sub").mkdir(parents=True)
    (leftover / "sub" / "model.pdparams").write_bytes(b"half a checkpoint")
    unrelated = tmp_path / ".best.k2j3h4.tmp"
    unrelated.mkdir()
    with atomic.atomic_dir(tmp_path / "latest") as tmp:
        (tmp / "state.json").write_text("{}")
    assert not leftover.exists(), "the stale temporary of latest/ must go"
    assert unrelated.exists(), "another target's temporary is not this write's to remove"
    assert (tmp_path / "latest" / "state.json").read_text() == "{}"


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(tmp_path):
    leftover = tmp_path / ".predictions.tsv.abc123.tmp"
    leftover.write_text("partial")
    atomic.write_text(tmp_path / "predictions.tsv", "whole\n")
    assert not leftover.exists()
    assert (tmp_path / "predictions.tsv").read_text() == "whole\n"


def test_data_and_folder_are_flushed_before_and_after_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = atomic.fsync_path, atomic.os.replace
    monkeypatch.setattr(atomic, "fsync_path", lambda path: events.append(("fsync", str(path)))
                        or real_fsync(path))
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: events.append(("rename", str(b)))
                        or real_replace(a, b))
    target = tmp_path / "out.txt"
    atomic.write_text(target, "x")
    kinds = [kind for kind, _ in events]
    rename = kinds.index("rename")
    assert "fsync" in kinds[:rename], "the data must reach the disk before the rename"
    assert ("fsync", str(tmp_path)) in events[rename:], "the rename itself must reach the disk"
