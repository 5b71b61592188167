"""PP-LCNetV3 (PaddleOCR's PP-OCRv4 backbone) for text-line recognition, in its deploy form.

PP-LCNetV3 trains each convolution as several re-parameterisable branches (kxk convs, a 1x1
conv, an identity batch norm; MobileOne-style) and fuses them into one conv with bias for
inference. PaddleOCR publishes PP-OCRv4's recogniser only fused, so this module builds the fused
("repped") network directly: one ``reparam_conv`` per ``LearnableRepLayer``. Fine-tuning the
fused network trains the same function the branches would compute, with fewer parameters.

Each rep layer scales and shifts its conv output with a ``LearnableAffineBlock`` (``lab``), then
applies hard-swish followed by a second affine (``act.lab``). The affines learn at a tenth of
the base learning rate (``lab_lr``), as in PaddleOCR's recipe.

Sublayer names are PaddleOCR's (``conv1``, ``blocks2`` ... ``blocks6``, ``dw_conv``, ``se``,
``pw_conv``, ``reparam_conv``, ``lab``, ``act.lab``). A 3 x 48 x W line becomes a
C x 1 x T feature map; see ``PPLCNetV3.forward`` for T.
"""

import paddle.nn.functional as F
from paddle import ParamAttr, nn
from paddle.nn.initializer import Constant, KaimingNormal
from paddle.regularizer import L2Decay

from linerec.modeling.backbones import channels as channel_rounding

# Per stage: (kernel, in channels, out channels, stride, squeeze-excite) before ``scale``.
# Strides (2, 1) halve only the height and (1, 2) only the width: 48 rows become 3 and
# W columns W / 4, before the final pool.
NET_CONFIG_REC = {
    "blocks2": [(3, 16, 32, 1, False)],
    "blocks3": [(3, 32, 64, 1, False), (3, 64, 64, 1, False)],
    "blocks4": [(3, 64, 128, (2, 1), False), (3, 128, 128, 1, False)],
    "blocks5": [(3, 128, 256, (1, 2), False)] + [(5, 256, 256, 1, False)] * 4,
    "blocks6": [(5, 256, 512, (2, 1), True), (5, 512, 512, 1, True),
                (5, 512, 512, (2, 1), False), (5, 512, 512, 1, False)],
}
STAGES = tuple(NET_CONFIG_REC)
TRAIN_TIME_STEPS = 40  # the adaptive pool's output width in training mode


def make_divisible(value):
    return channel_rounding.make_divisible(value, divisor=16)


class LearnableAffineBlock(nn.Layer):
    """``scale * x + bias`` with two learnable scalars, trained at ``lr_mult * lab_lr``."""

    def __init__(self, scale_value=1.0, bias_value=0.0, lr_mult=1.0, lab_lr=0.1):
        super().__init__()
        self.scale = self.create_parameter(
            [1], attr=ParamAttr(learning_rate=lr_mult * lab_lr),
            default_initializer=Constant(scale_value))
        self.bias = self.create_parameter(
            [1], attr=ParamAttr(learning_rate=lr_mult * lab_lr),
            default_initializer=Constant(bias_value))

    def forward(self, x):
        # `*`, not paddle.multiply: the legacy program exporter rejects the latter here.
        return self.scale * x + self.bias


class Act(nn.Layer):
    """Hard-swish (or ReLU) followed by a learnable affine (sublayer ``lab``)."""

    def __init__(self, act="hswish", lr_mult=1.0, lab_lr=0.1):
        super().__init__()
        if act not in ("hswish", "relu"):
            raise ValueError(f"unknown activation {act!r}")
        self.act = nn.Hardswish() if act == "hswish" else nn.ReLU()
        self.lab = LearnableAffineBlock(lr_mult=lr_mult, lab_lr=lab_lr)

    def forward(self, x):
        return self.lab(self.act(x))


class ConvBNLayer(nn.Layer):
    """Conv2D (no bias) -> BatchNorm, no activation: the stem. Sublayers ``conv`` and ``bn``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, groups=1, lr_mult=1.0):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                              padding=(kernel_size - 1) // 2, groups=groups,
                              weight_attr=ParamAttr(initializer=KaimingNormal(),
                                                    learning_rate=lr_mult),
                              bias_attr=False)
        # No weight decay on the batch norm's affine, as in PaddleOCR.
        self.bn = nn.BatchNorm2D(
            out_channels,
            weight_attr=ParamAttr(regularizer=L2Decay(0.0), learning_rate=lr_mult),
            bias_attr=ParamAttr(regularizer=L2Decay(0.0), learning_rate=lr_mult))

    def forward(self, x):
        return self.bn(self.conv(x))


class LearnableRepLayer(nn.Layer):
    """The fused form of a re-parameterisable conv: ``reparam_conv`` (with bias) -> ``lab``,
    then ``act`` unless the stride is the integer 2 (never the case in recognition, whose
    downsampling strides are (2, 1) and (1, 2); kept so that the rule reads as PaddleOCR's)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1, lr_mult=1.0,
                 lab_lr=0.1):
        super().__init__()
        self.stride = stride
        self.reparam_conv = nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                                      padding=(kernel_size - 1) // 2, groups=groups,
                                      weight_attr=ParamAttr(learning_rate=lr_mult),
                                      bias_attr=ParamAttr(learning_rate=lr_mult))
        self.lab = LearnableAffineBlock(lr_mult=lr_mult, lab_lr=lab_lr)
        self.act = Act(lr_mult=lr_mult, lab_lr=lab_lr)

    def forward(self, x):
        x = self.lab(self.reparam_conv(x))
        if self.stride != 2:
            x = self.act(x)
        return x


class SELayer(nn.Layer):
    """Squeeze-and-excitation: global average -> 1x1 ``conv1`` -> ReLU -> 1x1 ``conv2`` ->
    hard-sigmoid gate on the input channels."""

    def __init__(self, channels, reduction=4, lr_mult=1.0):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2D(1)
        self.conv1 = nn.Conv2D(channels, channels // reduction, 1,
                               weight_attr=ParamAttr(learning_rate=lr_mult),
                               bias_attr=ParamAttr(learning_rate=lr_mult))
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2D(channels // reduction, channels, 1,
                               weight_attr=ParamAttr(learning_rate=lr_mult),
                               bias_attr=ParamAttr(learning_rate=lr_mult))
        self.hardsigmoid = nn.Hardsigmoid()

    def forward(self, x):
        gate = self.hardsigmoid(self.conv2(self.relu(self.conv1(self.avg_pool(x)))))
        # `*`, not paddle.multiply: the legacy program exporter rejects the latter here.
        return x * gate


class LCNetV3Block(nn.Layer):
    """Depthwise kxk rep layer (``dw_conv``) -> optional ``se`` -> pointwise rep layer
    (``pw_conv``); no residual."""

    def __init__(self, in_channels, out_channels, stride, dw_size, use_se=False, lr_mult=1.0,
                 lab_lr=0.1):
        super().__init__()
        self.use_se = use_se
        self.dw_conv = LearnableRepLayer(in_channels, in_channels, dw_size, stride=stride,
                                         groups=in_channels, lr_mult=lr_mult, lab_lr=lab_lr)
        if use_se:
            self.se = SELayer(in_channels, lr_mult=lr_mult)
        self.pw_conv = LearnableRepLayer(in_channels, out_channels, 1, lr_mult=lr_mult,
                                         lab_lr=lab_lr)

    def forward(self, x):
        x = self.dw_conv(x)
        if self.use_se:
            x = self.se(x)
        return self.pw_conv(x)


class PPLCNetV3(nn.Layer):
    """PP-LCNetV3 for recognition; ``scale`` widens every stage (PP-OCRv4's recogniser: 0.95).

    ``lr_mult_list``: learning-rate multipliers of the stem and the five stages; ``lab_lr``:
    the learnable affines' further multiplier. ``out_channels`` = make_divisible(512 x scale).
    """

    def __init__(self, scale=0.95, lr_mult_list=(1.0,) * 6, lab_lr=0.1, in_channels=3):
        super().__init__()
        if len(lr_mult_list) != 1 + len(STAGES):
            raise ValueError(f"lr_mult_list needs {1 + len(STAGES)} values, got {lr_mult_list!r}")
        self.scale = scale
        self.conv1 = ConvBNLayer(in_channels, make_divisible(16 * scale), 3, 2,
                                 lr_mult=lr_mult_list[0])
        for stage, lr_mult in zip(STAGES, lr_mult_list[1:]):
            blocks = [LCNetV3Block(make_divisible(c_in * scale), make_divisible(c_out * scale),
                                   stride, kernel, use_se=se, lr_mult=lr_mult, lab_lr=lab_lr)
                      for kernel, c_in, c_out, stride, se in NET_CONFIG_REC[stage]]
            setattr(self, stage, nn.Sequential(*blocks))
        self.out_channels = make_divisible(NET_CONFIG_REC[STAGES[-1]][-1][2] * scale)

    def forward(self, x):
        """(N, 3, 48, W) -> (N, C, 1, T).

        Training pools the 3 x W/4 map to 1 x 40 whatever W is; inference averages 3 x 2
        windows, T = W/8. They agree only at W = 320 (PaddleOCR's training width), which is why
        a model trained at 320 reads wider lines at inference with more time steps.
        """
        x = self.conv1(x)
        for stage in STAGES:
            x = getattr(self, stage)(x)
        if self.training:
            return F.adaptive_avg_pool2d(x, [1, TRAIN_TIME_STEPS])
        return F.avg_pool2d(x, [3, 2])
