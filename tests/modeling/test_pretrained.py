import logging

import numpy as np
import paddle
import pytest

from linerec.errors import PipelineError
from linerec.modeling.pretrained import LoadReport, load_pretrained
from linerec.modeling.recognizer import build_recognizer

from .conftest import MOBILE, images


@pytest.fixture
def checkpoint_20(tmp_path):
    """A .pdparams of a (briefly trained, so BN statistics are not the defaults) 20-class model."""
    source = build_recognizer(MOBILE, num_classes=20)
    source.train()
    source(images(2, width=64))  # moves the BatchNorm running statistics
    path = tmp_path / "best_accuracy.pdparams"
    paddle.save(source.state_dict(), str(path))
    return source, path


def test_head_of_another_size_is_skipped_and_the_rest_loads(checkpoint_20, caplog):
    source, path = checkpoint_20
    paddle.seed(1)
    target = build_recognizer(MOBILE, num_classes=30)
    with caplog.at_level(logging.INFO, logger="linerec.modeling.pretrained"):
        report = load_pretrained(target, path)

    assert isinstance(report, LoadReport)
    assert report.skipped_shape == [("head.fc.weight", (96, 20), (96, 30)),
                                    ("head.fc.bias", (20,), (30,))]
    assert report.missing == [] and report.unexpected == []
    assert all(k in report.loaded for k in source.state_dict() if not k.startswith("head."))
    assert "backbone.conv1.bn._mean" in report.loaded
    assert "neck.encoder.lstm.weight_ih_l0" in report.loaded

    source.eval()
    target.eval()
    x = images(2, width=96, seed=3)
    np.testing.assert_array_equal(source.backbone(x).numpy(), target.backbone(x).numpy())
    np.testing.assert_array_equal(source.neck(source.backbone(x)).numpy(),
                                  target.neck(target.backbone(x)).numpy())
    text = str(report)
    assert "skipped head.fc.weight: file [96, 20] vs model [96, 30]" in text
    assert "loaded" in caplog.text and "head.fc.bias" in caplog.text
    assert report.to_dict()["skipped_shape"][1] == {"name": "head.fc.bias", "file_shape": [20],
                                                    "model_shape": [30]}


def test_missing_and_unexpected_keys_are_reported(checkpoint_20, tmp_path):
    source, _ = checkpoint_20
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("head.")}
    state["head.fc2.weight"] = paddle.zeros([3, 3])
    # Only the flat LSTM names (as in older checkpoints): their per-cell aliases must not be "missing".
    state = {k: v for k, v in state.items() if ".cell_" not in k}
    path = tmp_path / "partial.pdparams"
    paddle.save(state, str(path))
    target = build_recognizer(MOBILE, num_classes=20)
    report = load_pretrained(target, path)
    assert report.missing == ["head.fc.weight", "head.fc.bias"]
    assert report.unexpected == ["head.fc2.weight"]
    np.testing.assert_array_equal(target.neck.encoder.lstm.state_dict()["0.cell_bw.weight_hh"].numpy(),
                                  source.neck.encoder.lstm.state_dict()["0.cell_bw.weight_hh"].numpy())


def test_paddleocr_style_path_without_extension(checkpoint_20):
    _, path = checkpoint_20
    report = load_pretrained(build_recognizer(MOBILE, num_classes=20), path.with_suffix(""))
    assert report.path == str(path) and report.skipped_shape == []


def test_missing_file_names_the_path_and_the_fix(tmp_path):
    missing = tmp_path / "ch_ppocr_mobile_v2.0_rec_pre" / "best_accuracy.pdparams"
    with pytest.raises(PipelineError) as error:
        load_pretrained(build_recognizer(MOBILE, num_classes=20), missing)
    assert str(missing) in str(error.value) and "fix:" in str(error.value)


def test_a_checkpoint_of_another_architecture_is_refused(tmp_path):
    path = tmp_path / "other.pdparams"
    paddle.save({"backbone.conv1_1._conv.weight": paddle.zeros([32, 3, 3, 3])}, str(path))
    with pytest.raises(PipelineError, match="none of the file's 1 tensors"):
        load_pretrained(build_recognizer(MOBILE, num_classes=20), path)


def test_an_unreadable_file_is_a_pipeline_error(tmp_path):
    path = tmp_path / "truncated.pdparams"
    path.write_bytes(b"not a pickle")
    with pytest.raises(PipelineError, match="cannot read"):
        load_pretrained(build_recognizer(MOBILE, num_classes=20), path)
