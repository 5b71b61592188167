"""extract, split, predict and submit on a folder of the user's own crops, as DVC runs them."""

import json

import yaml

from tests.conftest import ROOT, run_stage
from tests.data.test_crop_folder import folder_with, jpeg, listing


def project_with_crops(root, files, **data):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"].update({"raw_dir": "crops", **data})
    params["split"].update({"mode": "random", "val_size": 1, "seed": 0})
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    folder_with(root / "crops", files)
    return root


def test_a_crop_folder_extracts_to_the_competitions_structure_and_stays_untouched(tmp_path):
    root = project_with_crops(tmp_path / "p", {
        "a/0.jpg": jpeg(), "1.jpg": jpeg(), "2.jpg": jpeg(), "SOURCE.md": "attribution",
        "labels.tsv": "a/0.jpg\t皖AD8676\n1.jpg\t京A\n2.jpg\t路口\nmissing.jpg\t无\n",
        "test/t0.jpg": jpeg(), "test/sub/t1.png": jpeg(), "test/bad.jpg": b"not an image",
        "test/notes.bin": b"x"})
    before = listing(root / "crops")

    result = run_stage("extract.py", cwd=root)

    assert listing(root / "crops") == before, "the crop folder changed"
    assert "layout: paddleocr (auto: found labels.tsv" in result.stdout
    out = root / "data/extracted"
    assert sorted(p.name for p in out.iterdir()) == [
        "problems.tsv", "report.json", "test_images", "test_images.txt", "train_images",
        "train_labels.tsv"]
    assert (out / "train_labels.tsv").read_text(encoding="utf-8") == \
        "a__0.jpg\t皖AD8676\n1.jpg\t京A\n2.jpg\t路口\n"
    assert (out / "train_images/a__0.jpg").read_bytes() == (root / "crops/a/0.jpg").read_bytes()
    assert (out / "test_images.txt").read_text(encoding="utf-8").split() == [
        "bad.jpg", "sub__t1.png", "t0.jpg"]
    problems = (out / "problems.tsv").read_text(encoding="utf-8")
    assert "crops/labels.tsv\t4\tmissing_image" in problems
    assert "crops/test\tbad.jpg\tundecodable_image" in problems
    assert "crops/test\tnotes.bin\tnot_an_image" in problems
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["layout"] == "paddleocr" and report["test"]["decodable"] == 2

    run_stage("split.py", cwd=root)
    lines = [(root / "data/split" / name).read_text(encoding="utf-8").splitlines()
             for name in ("train.txt", "val.txt")]
    assert [len(part) for part in lines] == [2, 1]
    assert sorted(line.split("\t")[1] for part in lines for line in part) == [
        "京A", "皖AD8676", "路口"]


def test_without_test_crops_predict_and_submit_write_empty_outputs(tmp_path):
    root = project_with_crops(tmp_path / "p", {
        "皖AD8676.jpg": jpeg(), "皖AD8676_1.jpg": jpeg(), "京A12345.jpg": jpeg()})
    result = run_stage("extract.py", cwd=root)
    assert "layout: filenames" in result.stdout and "test:  none" in result.stdout
    assert (root / "data/extracted/test_images.txt").read_text() == ""
    # The note keeps the folder, which DVC would not restore empty, in predict's dependencies.
    assert [p.name for p in (root / "data/extracted/test_images").iterdir()] == [
        "NO_TEST_IMAGES.txt"]

    predicted = run_stage("predict.py", cwd=root)
    assert "nothing to predict" in predicted.stdout
    assert (root / "data/predictions.tsv").read_text() == "name\ttext\tconfidence\n"
    submitted = run_stage("submit.py", cwd=root)
    assert "nothing to submit" in submitted.stdout
    assert (root / "data/submission.txt").read_text() == "new_name\tvalue\n"
    # No test labels, so no score: the metrics file is empty, the record says what was written.
    assert json.loads((root / "metrics/submit.json").read_text()) == {}
    assert json.loads((root / "data/submission.json").read_text()) == {"lines": 0, "empty": 0}


def test_a_test_dir_outside_the_raw_folder_is_refused(tmp_path):
    root = project_with_crops(tmp_path / "p", {"京A.jpg": jpeg()}, test_dir="../elsewhere")
    result = run_stage("extract.py", cwd=root, check=False)
    assert result.returncode == 2 and result.stderr.startswith("error: params.yaml: data.test_dir")
    assert "fix:" in result.stderr and not (root / "data/extracted").exists()
