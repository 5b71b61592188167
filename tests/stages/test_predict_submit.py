"""predict and submit on awkward test images: every image gets exactly one submission line."""

import json

import cv2
import numpy as np
import pytest
import yaml

from linerec import submission
from linerec.charset import ppocr_keys_path
from tests.conftest import ROOT, run_stage, write_general
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
    record = json.loads((tmp_path / "data/submission.json").read_text())
    assert record["lines"] == len(names) and "acc" not in record  # no test labels: not scored
    assert json.loads((tmp_path / "metrics/submit.json").read_text()) == {}


def test_the_exported_models_local_score_equals_its_evaluate_score(tmp_path):
    """evaluate scores the trained model as predict + submit score its export: same export, same
    engine, same crops, preprocessing and batches, raw labels (one label has a character no head
    can emit)."""
    from linerec.charset import read_dictionary
    from linerec.families import family_for
    from linerec.model_store import model_info
    from linerec.synth import fonts, render
    from linerec.training import checkpoint

    texts = ["恒通超市", "营业时间8:00", "E区25-26号", "幸福路12号", "欢迎光临", "停车场",
             "24小时营业", "鲜花店", "书店☃", "0755-88562231"]
    images = tmp_path / "data/extracted/test_images"
    images.mkdir(parents=True)
    faces = fonts.faces(fonts.find_fonts())
    rng = np.random.default_rng(1)
    for index, text in enumerate(texts):
        render.render(text, faces[index % len(faces)], rng, 0.2).save(images / f"{index}.png")
    names = [f"{index}.png" for index in range(len(texts))]
    (tmp_path / "data/extracted/test_images.txt").write_text("\n".join(names) + "\n")
    (tmp_path / "data/extracted/test_labels.tsv").write_text(
        "".join(f"{n}\t{t}\n" for n, t in zip(names, texts)), encoding="utf-8")
    (tmp_path / "data/split").mkdir(parents=True)
    (tmp_path / "data/split/val.txt").write_text(
        "".join(f"data/extracted/test_images/{n}\t{t}\n" for n, t in zip(names, texts)),
        encoding="utf-8")
    # PP-OCRv6 tiny as shipped, saved as a trained model's best checkpoint.
    family = family_for({"name": "PPOCRv6", "variant": "tiny", "head": "all"}, [3, 48, 320])
    dict_path = family.pretrained_dictionary()
    classes = family.classes(read_dictionary(dict_path))
    model = family.start(classes, log=lambda _: None)
    checkpoint.save(tmp_path / "models/ppocrv6/best", model, None, {"best_step": 0},
                    model_info(family, len(classes), 25, "ppocrv6"), dict_path)
    write_general(tmp_path)  # the guard set evaluate reads beside val
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["export"].update(model="ppocrv6", weights="float32")
    params["predict"].update(batch_size=4, workers=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))

    outputs = {stage[0]: run_stage(*stage, cwd=tmp_path).stdout
               for stage in (("evaluate.py", "ppocrv6"), ("export.py",), ("predict.py",),
                             ("submit.py",))}
    evaluated = json.loads((tmp_path / "data/evaluation/ppocrv6.json").read_text())
    submitted = json.loads((tmp_path / "metrics/submit.json").read_text())
    # Both read through the same engine (predict.engine: auto, the fastest one installed).
    assert f"engine {evaluated['engine']})" in outputs["predict.py"]
    assert evaluated["not_expressible"] == 1
    assert 0.5 < evaluated["acc"] < 1.0, "a real reader, and the ☃ line must count as a miss"
    assert submitted["acc"] == evaluated["acc"]
    assert submitted["norm_edit_dis"] == pytest.approx(evaluated["norm_edit_dis"], abs=1e-12)
