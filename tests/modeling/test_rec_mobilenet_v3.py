import pytest

from linerec.errors import PipelineError
from linerec.modeling.backbones.rec_mobilenet_v3 import MobileNetV3, make_divisible

from .conftest import images

# Names as in PaddleOCR's rec_mobilenet_v3 / det_mobilenet_v3 (ConvBNLayer conv+bn, ResidualUnit,
# SEModule), i.e. the keys of ch_ppocr_mobile_v2.0_rec_pre/best_accuracy.pdparams minus "backbone.".
PADDLEOCR_KEYS = [
    "conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias", "conv1.bn._mean", "conv1.bn._variance",
    "blocks.0.expand_conv.conv.weight", "blocks.0.bottleneck_conv.conv.weight",
    "blocks.0.mid_se.conv1.weight", "blocks.0.mid_se.conv1.bias",
    "blocks.0.mid_se.conv2.weight", "blocks.0.mid_se.conv2.bias",
    "blocks.0.linear_conv.conv.weight", "blocks.0.linear_conv.bn._variance",
    "blocks.10.linear_conv.bn._mean", "conv2.conv.weight", "conv2.bn._variance",
]


def test_small_half_scale_maps_32x320_to_one_row_of_80():
    net = MobileNetV3(model_name="small", scale=0.5, small_stride=[1, 2, 2, 2])
    assert net.out_channels == 288
    assert net(images(2)).shape == [2, 288, 1, 80]
    assert net(images(1, width=160)).shape == [1, 288, 1, 40]


def test_large_variant_also_gives_one_row():
    net = MobileNetV3(model_name="large", scale=0.5, large_stride=[1, 2, 2, 2])
    assert net(images(1, width=96)).shape == [1, net.out_channels, 1, 24]
    assert net.out_channels == 480


def test_state_dict_uses_paddleocr_names():
    keys = set(MobileNetV3(model_name="small", scale=0.5, small_stride=[1, 2, 2, 2]).state_dict())
    assert set(PADDLEOCR_KEYS) <= keys
    # Block 1 of the small model has no squeeze-excite, as in PaddleOCR.
    assert not any(k.startswith("blocks.1.mid_se") for k in keys)


def test_make_divisible_rounds_like_paddleocr():
    values = [16 * 0.5, 576 * 0.5, 72 * 0.35, 20]
    assert [make_divisible(v) for v in values] == [8, 288, 24, 24]


@pytest.mark.parametrize("kwargs", [{"model_name": "tiny"}, {"scale": 0.6},
                                    {"small_stride": [1, 2, 2]}])
def test_bad_options_are_pipeline_errors(kwargs):
    with pytest.raises(PipelineError):
        MobileNetV3(**kwargs)
