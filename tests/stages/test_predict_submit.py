"""predict and submit on awkward test images: every image gets exactly one submission line."""

import json

import cv2
import numpy as np
import yaml

from linerec import submission
from linerec.charset import ppocr_keys_path
from tests.conftest import ROOT, run_stage
from tests.inference.test_export import fake_trained_model


def _write_test_images(folder):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {
        "colour.jpg": rng.integers(0, 255, (40, 200, 3), dtype=np.uint8),
        "gray.png": rng.integers(0, 255, (30, 90), dtype=np.uint8),
        "alpha.png": rng.integers(0, 255, (30, 90, 4), dtype=np.uint8),
        "tiny.png": rng.integers(0, 255, (3, 2, 3), dtype=np.uint8),
        "wide.jpg": rng.integers(0, 255, (20, 1500, 3), dtype=np.uint8),
        "deep.png": rng.integers(0, 65535, (30, 90, 3), dtype=np.uint16),
    }
    for name, image in images.items():
        cv2.imwrite(str(folder / name), image)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (folder / "empty.jpg").write_bytes(b"")
    return sorted(images) + ["corrupt.jpg", "empty.jpg"]


def test_odd_test_images_each_get_one_line_and_unreadable_ones_are_named(tmp_path):
    fake_trained_model(tmp_path, ppocr_keys_path())
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["predict"]["batch_size"] = 4
    params["export"]["model"] = "mobile"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    run_stage("export.py", cwd=tmp_path)
    names = _write_test_images(tmp_path / "data/extracted/test_images")
    (tmp_path / "data/extracted/test_images.txt").write_text("\n".join(names) + "\n")

    result = run_stage("predict.py", cwd=tmp_path)
    assert "corrupt.jpg: unreadable image, empty prediction" in result.stdout
    assert "empty.jpg: unreadable image, empty prediction" in result.stdout
    rows = (tmp_path / "data/predictions.tsv").read_text(encoding="utf-8").splitlines()[1:]
    predicted = {row.split("\t")[0]: row.split("\t") for row in rows}
    assert sorted(predicted) == sorted(names)
    assert predicted["corrupt.jpg"][1] == "" and float(predicted["corrupt.jpg"][2]) == 0.0

    run_stage("submit.py", cwd=tmp_path)
    parsed = submission.parse((tmp_path / "data/submission.txt").read_text(encoding="utf-8"))
    submission.validate(parsed, names)
    metrics = json.loads((tmp_path / "metrics/submit.json").read_text())
    assert metrics["lines"] == len(names) and "acc" not in metrics  # no test labels: not scored
