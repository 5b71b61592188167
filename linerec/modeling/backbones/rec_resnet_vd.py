"""ResNet-vd (He et al., 2019, "Bag of Tricks for Image Classification with CNNs") for recognition.

The "vd" tweaks: a stem of three 3x3 convs instead of one 7x7, and downsampling shortcuts that
average-pool before their 1x1 conv instead of striding it. The layout follows PaddleOCR's
``rec_resnet_vd`` so that its published weights (``ch_ppocr_server_v2.0_rec``) load by name:
``conv1_1``..``conv1_3``, blocks registered as ``bb_<stage>_<index>`` with ``conv0``/``conv1``
(/``conv2``) and a ``short`` projection, each conv+BN pair named ``_conv`` + ``_batch_norm``.

Stages 2-4 downsample the height only (stride (2, 1)); with the stride-2 max pool after the
stem and the final 2x2 max pool, a 3 x 32 x W line becomes a C x 1 x W/4 feature map.
"""

import paddle.nn.functional as F
from paddle import nn

from linerec.errors import PipelineError

DEPTHS = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
          152: [3, 8, 36, 3], 200: [3, 12, 48, 3]}
STAGE_WIDTHS = [64, 128, 256, 512]


class ConvBNLayer(nn.Layer):
    """[avg pool] -> Conv2D (no bias) -> BatchNorm -> optional ReLU.

    In vd mode the stride is taken by a ceil-mode average pool (``_pool2d_avg``) in front of a
    stride-1 conv, so the shortcut sees every input pixel.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, is_vd_mode=False, act=None):
        super().__init__()
        self.is_vd_mode = is_vd_mode
        self.act = act
        if is_vd_mode:
            self._pool2d_avg = nn.AvgPool2D(kernel_size=stride, stride=stride, padding=0,
                                            ceil_mode=True)
        self._conv = nn.Conv2D(in_channels, out_channels, kernel_size,
                               stride=1 if is_vd_mode else stride,
                               padding=(kernel_size - 1) // 2, bias_attr=False)
        self._batch_norm = nn.BatchNorm2D(out_channels)

    def forward(self, x):
        if self.is_vd_mode:
            x = self._pool2d_avg(x)
        x = self._batch_norm(self._conv(x))
        return F.relu(x) if self.act == "relu" else x


def _shortcut(in_channels, out_channels, stride, if_first):
    # The first block of the network projects with a plain 1x1 conv; later downsampling blocks
    # use the vd average-pool shortcut.
    return ConvBNLayer(in_channels, out_channels, 1, stride=stride,
                       is_vd_mode=not if_first and stride[0] != 1)


class BasicBlock(nn.Layer):
    """Two 3x3 convs (ResNet-18/34) plus an identity or projected shortcut."""

    def __init__(self, in_channels, out_channels, stride, shortcut, if_first):
        super().__init__()
        self.conv0 = ConvBNLayer(in_channels, out_channels, 3, stride=stride, act="relu")
        self.conv1 = ConvBNLayer(out_channels, out_channels, 3)
        self.shortcut = shortcut
        if not shortcut:
            self.short = _shortcut(in_channels, out_channels, stride, if_first)

    def forward(self, inputs):
        y = self.conv1(self.conv0(inputs))
        return F.relu((inputs if self.shortcut else self.short(inputs)) + y)


class BottleneckBlock(nn.Layer):
    """1x1 reduce -> 3x3 -> 1x1 expand (x4) (ResNet-50 and deeper) plus a shortcut."""

    def __init__(self, in_channels, out_channels, stride, shortcut, if_first):
        super().__init__()
        self.conv0 = ConvBNLayer(in_channels, out_channels, 1, act="relu")
        self.conv1 = ConvBNLayer(out_channels, out_channels, 3, stride=stride, act="relu")
        self.conv2 = ConvBNLayer(out_channels, out_channels * 4, 1)
        self.shortcut = shortcut
        if not shortcut:
            self.short = _shortcut(in_channels, out_channels * 4, stride, if_first)

    def forward(self, inputs):
        y = self.conv2(self.conv1(self.conv0(inputs)))
        return F.relu((inputs if self.shortcut else self.short(inputs)) + y)


class ResNet(nn.Layer):
    """ResNet-vd with 18/34/50/101/152/200 layers; ``out_channels`` is the feature depth."""

    def __init__(self, in_channels=3, layers=34):
        super().__init__()
        if layers not in DEPTHS:
            raise PipelineError(f"unsupported ResNet depth layers={layers!r}",
                                where="model.backbone.layers",
                                fix=f"use one of {', '.join(map(str, DEPTHS))}")
        self.layers = layers
        bottleneck = layers >= 50
        expansion = 4 if bottleneck else 1
        block_type = BottleneckBlock if bottleneck else BasicBlock

        self.conv1_1 = ConvBNLayer(in_channels, 32, 3, act="relu")
        self.conv1_2 = ConvBNLayer(32, 32, 3, act="relu")
        self.conv1_3 = ConvBNLayer(32, 64, 3, act="relu")
        self.pool2d_max = nn.MaxPool2D(kernel_size=3, stride=2, padding=1)

        self.block_list = []
        channels = 64
        for stage, depth in enumerate(DEPTHS[layers]):
            width = STAGE_WIDTHS[stage]
            for index in range(depth):
                stride = (2, 1) if index == 0 and stage != 0 else (1, 1)
                block = block_type(channels, width, stride, shortcut=index != 0,
                                   if_first=stage == 0 and index == 0)
                # Registered by name (not in a LayerList) so the keys match PaddleOCR's.
                self.add_sublayer(f"bb_{stage}_{index}", block)
                self.block_list.append(block)
                channels = width * expansion
        self.out_channels = channels
        self.out_pool = nn.MaxPool2D(kernel_size=2, stride=2, padding=0)

    def forward(self, x):
        x = self.pool2d_max(self.conv1_3(self.conv1_2(self.conv1_1(x))))
        for block in self.block_list:
            x = block(x)
        return self.out_pool(x)
