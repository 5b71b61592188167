import numpy as np
import pytest

from linerec.errors import PipelineError
from linerec.modeling.backbones.rec_mobilenet_v3 import MobileNetV3
from linerec.modeling.backbones.rec_resnet_vd import ResNet
from linerec.modeling.recognizer import Recognizer, build_recognizer

from .conftest import CHINESE_CLASSES, MOBILE, SERVER, images, parameter_count

# Keys of PaddleOCR's ch_ppocr_mobile_v2.0_rec_pre / ch_ppocr_server_v2.0_rec_pre best_accuracy.pdparams.
MOBILE_KEYS = [
    "backbone.conv1.conv.weight", "backbone.conv1.bn._mean", "backbone.conv1.bn._variance",
    "backbone.blocks.0.expand_conv.conv.weight", "backbone.blocks.0.mid_se.conv1.weight",
    "backbone.blocks.3.bottleneck_conv.bn.weight", "backbone.blocks.10.linear_conv.conv.weight",
    "backbone.conv2.conv.weight",
    "neck.encoder.lstm.weight_ih_l0", "neck.encoder.lstm.weight_hh_l0_reverse",
    "neck.encoder.lstm.bias_ih_l1", "neck.encoder.lstm.bias_hh_l1_reverse",
    "head.fc.weight", "head.fc.bias",
]
SERVER_KEYS = [
    "backbone.conv1_1._conv.weight", "backbone.conv1_3._batch_norm._mean",
    "backbone.bb_0_0.conv0._batch_norm._variance", "backbone.bb_0_0.short._conv.weight",
    "backbone.bb_2_0.short._batch_norm.bias", "backbone.bb_3_2.conv1._conv.weight",
    "neck.encoder.lstm.weight_ih_l0", "neck.encoder.lstm.weight_ih_l1_reverse",
    "head.fc.weight", "head.fc.bias",
]


@pytest.fixture(scope="module")
def mobile():
    return build_recognizer(MOBILE, num_classes=CHINESE_CLASSES)


@pytest.fixture(scope="module")
def server():
    return build_recognizer(SERVER, num_classes=CHINESE_CLASSES)


def test_four_explicit_parts(mobile, server):
    assert isinstance(mobile, Recognizer) and mobile.transform is None
    assert isinstance(mobile.backbone, MobileNetV3) and isinstance(server.backbone, ResNet)
    assert mobile.neck.out_channels == 96 and server.neck.out_channels == 512
    assert mobile.num_classes == CHINESE_CLASSES


@pytest.mark.parametrize("name", ["mobile", "server"])
def test_width_320_gives_80_steps_and_160_gives_40(name, request):
    model = request.getfixturevalue(name)
    model.train()
    assert model(images(2)).shape == [2, 80, CHINESE_CLASSES]
    model.eval()
    probs = model(images(1, width=160)).numpy()
    assert probs.shape == (1, 40, CHINESE_CLASSES)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-4)
    assert (probs >= 0).all()


def test_state_dicts_use_paddleocr_keys(mobile, server):
    assert set(MOBILE_KEYS) <= set(mobile.state_dict())
    assert set(SERVER_KEYS) <= set(server.state_dict())
    assert mobile.state_dict()["head.fc.weight"].shape == [96, CHINESE_CLASSES]
    assert server.state_dict()["head.fc.weight"].shape == [512, CHINESE_CLASSES]
    assert not any(key.startswith("transform") for key in mobile.state_dict())


def test_sizes_match_paddleocrs_models(mobile, server):
    mobile_count, server_count = parameter_count(mobile), parameter_count(server)
    print(f"\nmobile: {mobile_count:,} parameters = {mobile_count * 4 / 1e6:.2f} MB float32; "
          f"server: {server_count:,} parameters = {server_count * 4 / 1e6:.1f} MB float32")
    # PaddleOCR lists ch_ppocr_mobile_v2.0_rec's inference model at 5.2 MB.
    assert 4e6 <= mobile_count * 4 <= 6.5e6
    assert server_count > 15 * mobile_count and 50e6 < server_count * 4 < 200e6


def test_builds_without_mutating_the_config():
    cfg = {"backbone": dict(MOBILE["backbone"]), "neck": dict(MOBILE["neck"])}
    build_recognizer(cfg, num_classes=5)
    assert cfg == MOBILE


def test_unknown_backbone_names_the_known_ones():
    with pytest.raises(PipelineError, match="MobileNetV3, ResNet") as error:
        build_recognizer({"backbone": {"name": "ResNeXt"}, "neck": {"hidden_size": 8}}, 5)
    assert "ResNeXt" in str(error.value)
    with pytest.raises(PipelineError):
        build_recognizer({"neck": {"hidden_size": 8}}, 5)


@pytest.mark.parametrize("cfg, message", [
    ({"backbone": {"name": "ResNet", "layers": 34, "depth": 3}}, "'depth'"),
    ({"backbone": {"name": "ResNet", "layers": 18}, "neck": {"hidden": 8}}, "'hidden'"),
    ({"backbone": {"name": "ResNet", "layers": 18}, "heads": {}}, "'heads'"),
    ({"backbone": {"name": "ResNet", "layers": 18}, "transform": {"name": "TPS"}}, "transform"),
])
def test_bad_config_is_a_pipeline_error(cfg, message):
    with pytest.raises(PipelineError, match=message):
        build_recognizer(cfg, 5)


def test_too_few_classes_is_a_pipeline_error():
    with pytest.raises(PipelineError, match="at least 2"):
        build_recognizer(MOBILE, 1)
