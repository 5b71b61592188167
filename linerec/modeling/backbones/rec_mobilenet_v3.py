"""MobileNetV3 (Howard et al., 2019, "Searching for MobileNetV3") adapted for text-line recognition.

The layout follows PaddleOCR's recognition variant, so that its published weights
(``ch_ppocr_mobile_v2.0_rec``) load by name: the stem ``conv1``, the inverted residual
``blocks.<i>`` (``expand_conv`` / ``bottleneck_conv`` / ``mid_se`` / ``linear_conv``), the
1x1 ``conv2`` and a final 2x2 max pool. Each conv+BN pair is ``conv`` + ``bn``.

For recognition the stages that would halve the width halve only the height (stride (s, 1)),
so a 3 x 32 x W line becomes a C x 1 x W/4 feature map: W/4 CTC time steps.
"""

import paddle.nn.functional as F
from paddle import nn

from linerec.errors import PipelineError
from linerec.modeling.backbones import channels as channel_rounding

SUPPORTED_SCALES = (0.35, 0.5, 0.75, 1.0, 1.25)

# Per block: kernel, expansion channels, output channels, squeeze-excite, activation, stride.
# ("height", k): stride (strides[k], 1), downsampling the height only; ("both", k): the
# integer strides[k] (only the large model's first block, as in PaddleOCR).
_LARGE = [
    (3, 16, 16, False, "relu", ("both", 0)),
    (3, 64, 24, False, "relu", ("height", 1)),
    (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", ("height", 2)),
    (5, 120, 40, True, "relu", 1),
    (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hardswish", 1),
    (3, 200, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1),
    (3, 184, 80, False, "hardswish", 1),
    (3, 480, 112, True, "hardswish", 1),
    (3, 672, 112, True, "hardswish", 1),
    (5, 672, 160, True, "hardswish", ("height", 3)),
    (5, 960, 160, True, "hardswish", 1),
    (5, 960, 160, True, "hardswish", 1),
]
_SMALL = [
    (3, 16, 16, True, "relu", ("height", 0)),
    (3, 72, 24, False, "relu", ("height", 1)),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hardswish", ("height", 2)),
    (5, 240, 40, True, "hardswish", 1),
    (5, 240, 40, True, "hardswish", 1),
    (5, 120, 48, True, "hardswish", 1),
    (5, 144, 48, True, "hardswish", 1),
    (5, 288, 96, True, "hardswish", ("height", 3)),
    (5, 576, 96, True, "hardswish", 1),
    (5, 576, 96, True, "hardswish", 1),
]
_LAST_CHANNELS = {"large": 960, "small": 576}


def make_divisible(value):
    return channel_rounding.make_divisible(value, divisor=8)


def _activate(x, act):
    if act is None:
        return x
    if act == "relu":
        return F.relu(x)
    if act == "hardswish":
        return F.hardswish(x)
    raise ValueError(f"unknown activation {act!r}")


class ConvBNLayer(nn.Layer):
    """Conv2D (no bias) -> BatchNorm -> optional activation; sublayers ``conv`` and ``bn``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, groups=1, act=None):
        super().__init__()
        self.act = act
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, groups=groups, bias_attr=False)
        self.bn = nn.BatchNorm2D(out_channels)

    def forward(self, x):
        return _activate(self.bn(self.conv(x)), self.act)


class SEModule(nn.Layer):
    """Squeeze-and-excitation: global average -> 1x1 ``conv1`` -> ReLU -> 1x1 ``conv2`` -> gate."""

    def __init__(self, channels, reduction=4):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.conv1 = nn.Conv2D(channels, channels // reduction, 1)
        self.conv2 = nn.Conv2D(channels // reduction, channels, 1)

    def forward(self, x):
        gate = F.relu(self.conv1(self.avg_pool(x)))
        # PaddleOCR's published weights were trained with this hard sigmoid (0.2x + 0.5).
        gate = F.hardsigmoid(self.conv2(gate), slope=0.2, offset=0.5)
        return x * gate


class ResidualUnit(nn.Layer):
    """Inverted residual: 1x1 expand -> depthwise kxk (strided) -> [SE] -> 1x1 linear projection."""

    def __init__(self, in_channels, mid_channels, out_channels, kernel_size, stride, use_se, act):
        super().__init__()
        strides = stride if isinstance(stride, (tuple, list)) else (stride, stride)
        self.use_shortcut = tuple(strides) == (1, 1) and in_channels == out_channels
        self.use_se = use_se
        self.expand_conv = ConvBNLayer(in_channels, mid_channels, 1, 1, 0, act=act)
        self.bottleneck_conv = ConvBNLayer(mid_channels, mid_channels, kernel_size, stride,
                                           (kernel_size - 1) // 2, groups=mid_channels, act=act)
        if use_se:
            self.mid_se = SEModule(mid_channels)
        self.linear_conv = ConvBNLayer(mid_channels, out_channels, 1, 1, 0, act=None)

    def forward(self, inputs):
        x = self.bottleneck_conv(self.expand_conv(inputs))
        if self.use_se:
            x = self.mid_se(x)
        x = self.linear_conv(x)
        return inputs + x if self.use_shortcut else x


def _check_strides(name, strides):
    if not isinstance(strides, (list, tuple)) or len(strides) != 4 or not all(
            isinstance(s, int) and s >= 1 for s in strides):
        raise PipelineError(f"{name} must be a list of 4 positive integers, got {strides!r}",
                            where=f"model.backbone.{name}", fix=f"e.g. {name}: [1, 2, 2, 2]")
    return list(strides)


class MobileNetV3(nn.Layer):
    """MobileNetV3 small/large for recognition; ``out_channels`` is the feature depth.

    ``small_stride`` / ``large_stride`` are the height strides of the four downsampling blocks
    (PaddleOCR's defaults: [2, 2, 2, 2] small, [1, 2, 2, 2] large; its Chinese models use
    small with [1, 2, 2, 2], which maps 32 rows to 1 after the stem and the final pool).
    """

    def __init__(self, in_channels=3, model_name="small", scale=0.5, large_stride=None,
                 small_stride=None, disable_se=False):
        super().__init__()
        if model_name not in _LAST_CHANNELS:
            raise PipelineError(f"unknown MobileNetV3 model_name {model_name!r}",
                                where="model.backbone.model_name", fix="use 'small' or 'large'")
        if scale not in SUPPORTED_SCALES:
            raise PipelineError(f"unsupported MobileNetV3 scale {scale!r}",
                                where="model.backbone.scale",
                                fix=f"use one of {', '.join(map(str, SUPPORTED_SCALES))}")
        if model_name == "large":
            cfg = _LARGE
            strides = _check_strides("large_stride", [1, 2, 2, 2] if large_stride is None else large_stride)
        else:
            cfg = _SMALL
            strides = _check_strides("small_stride", [2, 2, 2, 2] if small_stride is None else small_stride)
        self.model_name = model_name
        self.scale = scale

        channels = make_divisible(16 * scale)
        self.conv1 = ConvBNLayer(in_channels, channels, 3, 2, 1, act="hardswish")
        blocks = []
        for kernel, expansion, out, se, act, stride in cfg:
            if isinstance(stride, tuple):
                mode, index = stride
                stride = strides[index] if mode == "both" else (strides[index], 1)
            blocks.append(ResidualUnit(channels, make_divisible(scale * expansion),
                                       make_divisible(scale * out), kernel, stride,
                                       use_se=se and not disable_se, act=act))
            channels = make_divisible(scale * out)
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = make_divisible(scale * _LAST_CHANNELS[model_name])
        self.conv2 = ConvBNLayer(channels, self.out_channels, 1, 1, 0, act="hardswish")
        self.pool = nn.MaxPool2D(kernel_size=2, stride=2, padding=0)

    def forward(self, x):
        return self.pool(self.conv2(self.blocks(self.conv1(x))))
