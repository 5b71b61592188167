"""Train/val selection, the label dictionary, and what CTCLabelEncode would drop."""

import json

import pytest

from linerec.data import dictionary, label_check, splitting
from linerec.errors import PipelineError
from linerec.params import Params

NAMES = [f"{i}.jpg" for i in range(50)]


def test_tail_takes_the_last_rows():
    is_val = splitting.select_validation(NAMES, "tail", val_size=7)
    assert is_val == [False] * 43 + [True] * 7


def test_random_is_seeded_and_sized():
    first = splitting.select_validation(NAMES, "random", val_size=10, seed=3)
    again = splitting.select_validation(list(NAMES), "random", val_size=10, seed=3)
    other = splitting.select_validation(NAMES, "random", val_size=10, seed=4)
    assert first == again and sum(first) == 10
    assert first != other and sum(other) == 10
    assert first != [False] * 40 + [True] * 10


@pytest.mark.parametrize("fraction, expected", [(0.1, 5), (0.25, 13), (0.5, 25)])
def test_fraction_is_seeded_and_rounded(fraction, expected):
    is_val = splitting.select_validation(NAMES, "fraction", val_fraction=fraction, seed=0)
    assert sum(is_val) == expected
    assert is_val == splitting.select_validation(NAMES, "fraction", val_fraction=fraction)


def test_val_size_too_large_says_the_numbers_and_the_fix():
    with pytest.raises(PipelineError) as caught:
        splitting.select_validation(NAMES, "tail", val_size=500)
    error = caught.value
    assert "500" in error.problem and "50" in error.problem and "split.val_size" in error.fix
    with pytest.raises(PipelineError):
        splitting.select_validation(NAMES, "random", val_size=50)
    with pytest.raises(PipelineError, match="empty"):
        splitting.select_validation(NAMES, "fraction", val_fraction=0.001)


def test_dictionary_from_labels_in_order_of_first_use():
    labels = ["北京 路", "京A 88", "路口"]
    assert dictionary.from_labels(labels, use_space_char=True) == list("北京路A8口")
    assert dictionary.from_labels(labels, use_space_char=False) == list("北京 路A8口")
    assert dictionary.to_text(list("ab")) == "a\nb\n"


def test_label_check_counts():
    samples = [("0", "abc"), ("1", "abX"), ("2", "XY"), ("3", "abcabc"), ("4", "a c"),
               ("5", "YYa")]
    result = label_check.check(samples, list("abc"), use_space_char=True, max_text_length=5)
    assert result.metrics() == {
        "lines": 6, "out_of_dict_lines": 3, "out_of_dict_distinct_chars": 2,
        "altered_lines": 2, "dropped_too_long": 1, "dropped_empty": 1, "dropped_total": 2,
        "max_length": 6}
    assert result.out_of_dict_chars == {"X": 2, "Y": 2}
    assert result.too_long_examples == [("3", "abcabc")]
    without_space = label_check.check(samples, list("abc"), False, 5)
    assert without_space.out_of_dict_chars[" "] == 1


def test_label_check_agrees_with_paddleocr(tmp_path):
    from paddleocr.ppocr.data.imaug.label_ops import CTCLabelEncode

    chars = list("abc中")
    (tmp_path / "dict.txt").write_text(dictionary.to_text(chars), encoding="utf-8")
    samples = [(str(i), label) for i, label in enumerate(
        ["abc", "ab中X", "XY", "abcdefg", "a c", " ", "ZZZZZZZ", "中", "abcdef"])]
    for use_space in (True, False):
        encoder = CTCLabelEncode(6, str(tmp_path / "dict.txt"), use_space)
        dropped = sum(encoder.encode(label) is None for _, label in samples)
        result = label_check.check(samples, chars, use_space, 6)
        assert result.dropped_too_long + result.dropped_empty == dropped


def write_extracted(root, lines):
    extracted = root / "data" / "extracted"
    extracted.mkdir(parents=True)
    (extracted / "train_labels.tsv").write_text(
        "".join(f"{name}\t{label}\n" for name, label in lines), encoding="utf-8")
    (extracted / "report.json").write_text(json.dumps(
        {"raw_dir": "x", "encoding": {"train_label.csv": "utf-8"},
         "train": {"labelled": len(lines), "problems": {"missing_image": 1}}}), encoding="utf-8")


def params(mode="random", **split):
    return Params({
        "data": {"dictionary": "labels", "use_space_char": True, "max_text_length": 4},
        "split": {"mode": mode, "val_size": 3, "val_fraction": 0.2, "seed": 1, **split},
    })


def test_make_split_writes_paddleocr_files_and_is_byte_identical(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = [(f"{i}.jpg", label) for i, label in enumerate(
        ["北京", "上海 路", "京A", "路口", "ＡＢ", "北京路口路", "镕", "口"])]
    write_extracted(tmp_path, lines)
    metrics = splitting.make_split(params())
    split = tmp_path / "data" / "split"
    first = {p.name: p.read_bytes() for p in sorted(split.iterdir())}
    first_metrics = (tmp_path / "metrics" / "data.json").read_bytes()
    assert sorted(first) == ["data_report.json", "dict.txt", "summary.md", "train.txt", "val.txt"]
    train = first["train.txt"].decode().splitlines()
    val = first["val.txt"].decode().splitlines()
    assert len(train) == 5 and len(val) == 3
    assert all(line.startswith("data/extracted/train_images/") for line in train + val)
    train_labels = [line.split("\t", 1)[1] for line in train]
    assert first["dict.txt"].decode().split("\n")[:-1] == dictionary.from_labels(train_labels, True)
    assert metrics["split"]["dictionary_size"] == len(first["dict.txt"].decode().split("\n")) - 1
    assert metrics["extract"] == {"train": {"labelled": 8, "problems": {"missing_image": 1}}}

    splitting.make_split(params())
    assert {p.name: p.read_bytes() for p in sorted(split.iterdir())} == first
    assert (tmp_path / "metrics" / "data.json").read_bytes() == first_metrics


def test_make_split_with_ppocr_keys(tmp_path, monkeypatch):
    from linerec.charset import ppocr_keys_path

    monkeypatch.chdir(tmp_path)
    write_extracted(tmp_path, [(f"{i}.jpg", "中文") for i in range(6)] + [("x.jpg", "\U0001F600")])
    tree = params("tail", val_size=1).tree
    tree["data"]["dictionary"] = "ppocr_keys_v1"
    metrics = splitting.make_split(Params(tree))
    assert (tmp_path / "data/split/dict.txt").read_bytes() == ppocr_keys_path().read_bytes()
    assert metrics["split"]["val"]["dropped_empty"] == 1
    assert metrics["split"]["dictionary_size"] == 6623
