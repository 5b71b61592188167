"""The general stage's crop folders: readable as crop folders, reproducible, general text."""

import hashlib

from linerec.data.crop_folder import read_crop_folder
from linerec.synth.general import write_general


def _digest(folder):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_replay_and_guard_are_crop_folders_of_distinct_general_lines(tmp_path):
    write_general(tmp_path / "general", seed=5, counts={"replay": 12, "guard": 6}, difficulty=0.3)
    replay = read_crop_folder(tmp_path / "general" / "replay")
    guard = read_crop_folder(tmp_path / "general" / "guard")
    assert replay.layout == guard.layout == "paddleocr"
    assert len(replay.samples) == 12 and len(guard.samples) == 6
    assert len(replay.problems) == len(guard.problems) == 0
    replay_lines = {label for _, label in replay.samples}
    guard_lines = {label for _, label in guard.samples}
    assert not replay_lines & guard_lines
    # General text: Chinese lines beyond the sample's small street charset.
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in line) for line in guard_lines) >= 3


def test_the_same_seed_renders_the_same_bytes(tmp_path):
    for run in ("a", "b"):
        write_general(tmp_path / run, seed=5, counts={"replay": 4, "guard": 3}, difficulty=0.3)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    write_general(tmp_path / "c", seed=6, counts={"replay": 4, "guard": 3}, difficulty=0.3)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
