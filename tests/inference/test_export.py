"""Export through the stage script (it must set FLAGS_enable_pir_api before paddle loads)."""

import json
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

from linerec.charset import ppocr_keys_path, read_dictionary
from linerec.families.crnn import CRNN
from linerec.model_store import model_info
from linerec.training import checkpoint
from tests.conftest import ROOT, render_line, run_stage, write_split

MOBILE = {"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5,
                       "small_stride": [1, 2, 2, 2]}, "neck": {"hidden_size": 48}}


def fake_trained_model(project, dict_path, model_cfg=MOBILE, name="mobile"):
    """A models/<name> folder as a training stage leaves it, with untrained weights."""
    family = CRNN(model_cfg, [3, 32, 320], use_space_char=True)
    classes = family.classes(read_dictionary(dict_path))
    paddle.seed(0)
    model = family.build(len(classes))
    model_dir = Path(project) / "models" / name
    checkpoint.save(model_dir / "best", model, None, {"step": 0},
                    model_info(family, len(classes), 25, name), dict_path)
    return model_dir


def write_params(project, sections=None, **export):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["export"].update(export)
    for name, values in (sections or {}).items():
        params[name].update(values)
    (Path(project) / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))


@pytest.fixture(scope="module")
def full_dictionary_export(tmp_path_factory):
    project = tmp_path_factory.mktemp("export")
    fake_trained_model(project, ppocr_keys_path())
    write_params(project, model="mobile", weights="float32")
    result = run_stage("export.py", cwd=project)
    return project, result


def test_mobile_with_the_full_dictionary_is_about_paddleocrs_5_mb(full_dictionary_export):
    project, result = full_dictionary_export
    export_dir = project / "models/export"
    size = sum((export_dir / f).stat().st_size for f in ("inference.pdmodel", "inference.pdiparams"))
    print(f"exported mobile, 6,625 classes: {size / 1e6:.2f} MB")
    assert 4.0e6 < size < 6.5e6
    metrics = json.loads((project / "metrics/export.json").read_text())
    assert metrics == {"size_mb": pytest.approx(size / 1e6, abs=1e-3)}
    record = json.loads((project / "models/export.json").read_text())
    assert record["size_mb"] == metrics["size_mb"] and record["max_output_drift"] < 1e-4
    assert not (export_dir / "inference.json").exists()


@pytest.fixture(scope="module")
def ppocrv4_export(tmp_path_factory):
    """PP-OCRv4 fine-tuned for one step on rendered digits by train.py, then export.py."""
    project = tmp_path_factory.mktemp("ppocrv4")
    write_split(project, n_train=16, n_val=8)
    write_params(project, {"train_ppocrv4": {"max_steps": 1, "batch_size": 4,
                                             "eval_every_steps": 1}}, model="ppocrv4")
    run_stage("train.py", "ppocrv4", "--no-progress", cwd=project)
    run_stage("export.py", cwd=project)
    return project


def test_ppocrv4_keeps_its_whole_dictionary_and_fits_the_gate_with_16_bit_weights(ppocrv4_export):
    record = json.loads((ppocrv4_export / "models/export.json").read_text())
    print(f"exported ppocrv4: {record['size_mb']} MB")
    # 6,623 pretrained characters + the space + blank; the digits add nothing new.
    assert record["model"] == "ppocrv4" and record["weights"] == "int16"
    assert 5.0 < record["size_mb"] < 6.0
    assert record["max_output_drift"] < 1e-2
    config = json.loads((ppocrv4_export / "models/export/recognizer.json").read_text())
    assert config["algorithm"] == "SVTR_LCNet" and config["image_shape"] == [3, 48, 320]
    dictionary = (ppocrv4_export / "models/export/dict.txt").read_text(encoding="utf-8")
    assert len(dictionary.splitlines()) == 6623


@pytest.mark.parametrize("model", ["mobile", "ppocrv4"])
def test_paddleocr_text_recognizer_reads_the_export_as_we_do(model, request):
    from linerec.inference.text_recognizer import paddleocr_recognizer
    from linerec.inference.predictor import LinePredictor

    if model == "mobile":
        project, _ = request.getfixturevalue("full_dictionary_export")
    else:
        project = request.getfixturevalue("ppocrv4_export")
    export_dir = project / "models/export"
    theirs, _ = paddleocr_recognizer(export_dir, batch_size=4, threads=1)(
        [np.asarray(render_line(t))[:, :, ::-1].copy() for t in ("12", "345", "67890", "1")])
    images = [np.asarray(render_line(t))[:, :, ::-1].copy() for t in ("12", "345", "67890", "1")]
    ours = LinePredictor(export_dir, batch_size=4).predict(images)
    assert [text for text, _ in ours] == [text for text, _ in theirs]
    if model == "ppocrv4":
        assert [text for text, _ in ours][:3] == ["12", "345", "67890"]
    assert [c for _, c in ours] == pytest.approx([c for _, c in theirs], abs=1e-4)


def test_an_export_over_the_limit_fails_with_the_size_and_leaves_nothing(tmp_path):
    fake_trained_model(tmp_path, ppocr_keys_path())
    write_params(tmp_path, model="mobile", max_size_mb=1)
    result = run_stage("export.py", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "over the 1 MB limit" in result.stderr and "MB" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "models/export").exists()


def test_a_missing_model_is_a_clear_error(tmp_path):
    write_params(tmp_path, model="server")
    result = run_stage("export.py", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert "models/server/best/model.json" in result.stderr and "dvc repro train_server" in result.stderr
