import csv
import io
import zipfile

import pandas as pd
import pytest
from PIL import Image

from linerec.charset import ppocr_keys_path, read_dictionary
from linerec.errors import PipelineError
from linerec.synth import dataset, fonts, render, text
from linerec.synth.dataset import SampleSpec, write_sample

FILES = ["test_images.zip", "test_label.csv", "train_images.zip", "train_label.csv"]
SMALL = SampleSpec(seed=7, num_train=40, num_test=12)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    summary = write_sample(out, SMALL)
    return out, summary


def _labels(path):
    return pd.read_csv(path, encoding="gb18030", dtype=str, keep_default_na=False)


def test_writes_exactly_the_four_competition_files(sample):
    out, summary = sample
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert summary["counts"] == {"train": 40, "test": 12}
    assert sorted(summary["files"]) == FILES


@pytest.mark.parametrize("split,count", [("train", 40), ("test", 12)])
def test_labels_and_zip_members_match(sample, split, count):
    out, _ = sample
    raw = (out / f"{split}_label.csv").read_bytes()
    assert raw.startswith(b"name,value\n")
    labels = _labels(out / f"{split}_label.csv")
    assert list(labels.columns) == ["name", "value"]
    assert list(labels["name"]) == [f"{i}.jpg" for i in range(count)]
    with zipfile.ZipFile(out / f"{split}_images.zip") as archive:
        members = archive.namelist()
        assert members == [f"{split}_images/{name}" for name in labels["name"]]
        for member in members:
            image = Image.open(io.BytesIO(archive.read(member)))
            assert image.format == "JPEG" and image.mode == "RGB"
            assert render.HEIGHTS[0] <= image.height <= render.HEIGHTS[1]
            assert image.width >= image.height * 0.7


def test_labels_keep_to_the_street_profile(sample):
    out, summary = sample
    drawable = fonts.drawable_chars(fonts.find_fonts())
    charset = text.street_charset(SMALL.charset_size, SMALL.max_chars, drawable)
    assert summary["charset_size"] == len(charset) <= SMALL.charset_size
    values = pd.concat([_labels(out / "train_label.csv"), _labels(out / "test_label.csv")])["value"]
    assert all(SMALL.min_chars <= len(v) <= SMALL.max_chars for v in values)
    assert set("".join(values)) <= charset


def test_the_same_params_give_identical_bytes_and_another_seed_other_bytes(sample, tmp_path):
    out, _ = sample
    write_sample(tmp_path / "again", SMALL)
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name
    write_sample(tmp_path / "other", SampleSpec(seed=8, num_train=40, num_test=12))
    for name in FILES:
        assert (tmp_path / "other" / name).read_bytes() != (out / name).read_bytes(), name


def test_an_image_does_not_depend_on_how_many_are_made(sample, tmp_path):
    out, _ = sample
    write_sample(tmp_path, SampleSpec(seed=7, num_train=5, num_test=3))
    with zipfile.ZipFile(out / "train_images.zip") as big, \
            zipfile.ZipFile(tmp_path / "train_images.zip") as small:
        assert big.read("train_images/4.jpg") == small.read("train_images/4.jpg")


def test_the_realistic_profile_writes_dictionary_lines(tmp_path):
    write_sample(tmp_path, SampleSpec(seed=1, num_train=30, num_test=5, profile=text.REALISTIC))
    values = _labels(tmp_path / "train_label.csv")["value"]
    assert all(1 <= len(v) <= 25 for v in values)
    assert set("".join(values)) <= set(read_dictionary(ppocr_keys_path())) | {" "}


def test_values_with_commas_and_quotes_are_quoted():
    rows = [("0.jpg", '营业时间,8:00'), ("1.jpg", 'say "hi"'), ("2.jpg", "０７５５")]
    data = dataset.labels_csv(rows)
    assert list(csv.reader(io.StringIO(data.decode("gb18030")))) == [["name", "value"]] + \
        [list(r) for r in rows]
    frame = pd.read_csv(io.BytesIO(data), encoding="gb18030", dtype=str)
    assert list(frame.itertuples(index=False, name=None)) == rows


def test_a_failed_run_leaves_the_previous_files_untouched(sample, tmp_path, monkeypatch):
    out, _ = sample
    target = tmp_path / "sample"
    write_sample(target, SMALL)
    before = {name: (target / name).read_bytes() for name in FILES}
    calls = []

    def failing(*args):
        calls.append(1)
        if len(calls) == 45:  # inside the test split, after the train files are complete
            raise KeyboardInterrupt
        return b"jpeg"

    monkeypatch.setattr(render, "render_jpeg", failing)
    with pytest.raises(KeyboardInterrupt):
        write_sample(target, SMALL)
    assert sorted(p.name for p in target.iterdir()) == FILES  # no temporary files left
    assert {name: (target / name).read_bytes() for name in FILES} == before


def test_never_renders_over_archives_it_did_not_write(tmp_path):
    with zipfile.ZipFile(tmp_path / "train_images.zip", "w") as archive:
        archive.writestr("train_images/0.jpg", b"the real competition data")
    with pytest.raises(PipelineError, match="did not write"):
        write_sample(tmp_path, SMALL)
    assert zipfile.ZipFile(tmp_path / "train_images.zip").namelist() == ["train_images/0.jpg"]


def test_a_missing_font_fails_before_anything_is_written(tmp_path):
    with pytest.raises(PipelineError, match="pip install pylopdf-fonts-zh-cn"):
        write_sample(tmp_path / "out", SMALL, font_dir=tmp_path / "no_fonts")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("changes,key", [
    ({"difficulty": 1.5}, "difficulty"), ({"min_chars": 5, "max_chars": 3}, "min_chars"),
    ({"charset_size": 20}, "charset_size"), ({"profile": "fancy"}, "profile"),
    ({"num_test": 0}, "num_test"),
])
def test_bad_settings_name_the_param(changes, key):
    with pytest.raises(PipelineError, match=f"sample.{key}"):
        SampleSpec(**changes)
