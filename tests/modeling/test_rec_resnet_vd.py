import pytest

from linerec.errors import PipelineError
from linerec.modeling.backbones.rec_resnet_vd import ResNet

from .conftest import images

# Names as in PaddleOCR's rec_resnet_vd (keys of ch_ppocr_server_v2.0_rec_pre minus "backbone.").
PADDLEOCR_KEYS = [
    "conv1_1._conv.weight", "conv1_1._batch_norm.weight", "conv1_1._batch_norm._mean",
    "conv1_2._conv.weight", "conv1_3._batch_norm._variance",
    "bb_0_0.conv0._conv.weight", "bb_0_0.conv0._batch_norm._variance",
    "bb_0_0.conv1._conv.weight", "bb_0_0.short._conv.weight",
    "bb_1_0.short._conv.weight", "bb_1_0.short._batch_norm._mean", "bb_1_3.conv1._batch_norm.bias",
    "bb_2_5.conv0._conv.weight", "bb_3_2.conv1._batch_norm._variance",
]


@pytest.fixture(scope="module")
def resnet34():
    return ResNet(layers=34)


def test_resnet34_maps_32x320_to_one_row_of_80(resnet34):
    assert resnet34.out_channels == 512
    assert resnet34(images(2)).shape == [2, 512, 1, 80]
    assert resnet34(images(1, width=160)).shape == [1, 512, 1, 40]


def test_state_dict_uses_paddleocr_names(resnet34):
    keys = set(resnet34.state_dict())
    assert set(PADDLEOCR_KEYS) <= keys
    # Only the first block of each stage projects its shortcut.
    assert not any(k.startswith("bb_1_1.short") for k in keys)
    assert len([k for k in keys if k.startswith("bb_") and k.endswith("conv0._conv.weight")]) == 16


def test_vd_shortcut_average_pools_instead_of_striding(resnet34):
    first, later = resnet34.bb_0_0.short, resnet34.bb_1_0.short
    assert not first.is_vd_mode and later.is_vd_mode
    assert list(later._conv._stride) == [1, 1]


def test_bottleneck_depths():
    net = ResNet(layers=50)
    assert net.out_channels == 2048
    assert "bb_0_0.conv2._conv.weight" in net.state_dict()
    assert net(images(1, width=32)).shape == [1, 2048, 1, 8]
    assert ResNet(layers=18).out_channels == 512


def test_unsupported_depth_is_a_pipeline_error():
    with pytest.raises(PipelineError, match="18, 34, 50"):
        ResNet(layers=35)
