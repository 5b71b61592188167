"""The SVTR neck of PP-OCRv4's recogniser (PaddleOCR's ``EncoderWithSVTR``; Du et al., 2022,
"SVTR: Scene Text Recognition with a Single Visual Model").

A few global self-attention blocks let every column of the backbone's feature map see the whole
line, at a fraction of the cost of attention at full width: the features are first narrowed
(``conv1``, ``conv2``), mixed by ``svtr_block``, widened back (``conv3``), concatenated with the
neck's input (a shortcut) and fused (``conv4``, ``conv1x1``). Sublayer names are PaddleOCR's.
"""

import paddle
import paddle.nn.functional as F
from paddle import nn
from paddle.nn.initializer import Constant, KaimingUniform, TruncatedNormal


class ConvBNLayer(nn.Layer):
    """Conv2D (no bias) -> BatchNorm -> Swish; sublayers ``conv``, ``norm``, ``act``."""

    def __init__(self, in_channels, out_channels, kernel_size=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, padding=padding,
                              weight_attr=paddle.ParamAttr(initializer=KaimingUniform()),
                              bias_attr=False)
        self.norm = nn.BatchNorm2D(out_channels)
        self.act = nn.Swish()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


def _linear(in_features, out_features, bias=True):
    """A linear layer initialised as SVTR's: truncated normal (std 0.02) weights, zero bias."""
    return nn.Linear(in_features, out_features,
                     weight_attr=paddle.ParamAttr(initializer=TruncatedNormal(std=0.02)),
                     bias_attr=paddle.ParamAttr(initializer=Constant(0.0)) if bias else False)


class Attention(nn.Layer):
    """Global multi-head self-attention over the sequence; sublayers ``qkv`` and ``proj``."""

    def __init__(self, dim, num_heads=8, qkv_bias=True, qk_scale=None, attn_drop=0.0,
                 proj_drop=0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not a multiple of num_heads {num_heads}")
        self.dim = dim
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = qk_scale or self.head_dim ** -0.5
        self.qkv = _linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = _linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        # (N, L, 3 * dim) -> (3, N, heads, L, head_dim)
        qkv = self.qkv(x).reshape([0, -1, 3, self.num_heads, self.head_dim]).transpose(
            [2, 0, 3, 1, 4])
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        # `@`, not Tensor.matmul: the legacy program exporter rejects the latter here.
        attn = F.softmax(q @ k.transpose([0, 1, 3, 2]), axis=-1)
        x = (self.attn_drop(attn) @ v).transpose([0, 2, 1, 3]).reshape([0, -1, self.dim])
        return self.proj_drop(self.proj(x))


class Mlp(nn.Layer):
    """``fc1`` -> Swish -> dropout -> ``fc2`` -> dropout."""

    def __init__(self, in_features, hidden_features, drop=0.0):
        super().__init__()
        self.fc1 = _linear(in_features, hidden_features)
        self.act = nn.Swish()
        self.fc2 = _linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Block(nn.Layer):
    """A pre-norm transformer block (PaddleOCR's ``prenorm=False``): x + mixer(norm1(x)), then
    x + mlp(norm2(x))."""

    def __init__(self, dim, num_heads, mlp_ratio=2.0, qkv_bias=True, qk_scale=None, drop=0.0,
                 attn_drop=0.0, epsilon=1e-5):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, epsilon=epsilon)
        self.mixer = Attention(dim, num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
                               attn_drop=attn_drop, proj_drop=drop)
        self.norm2 = nn.LayerNorm(dim, epsilon=epsilon)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def forward(self, x):
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class EncoderWithSVTR(nn.Layer):
    """(N, in_channels, H, W) -> (N, dims, H, W); PP-OCRv4: in 480, dims 120, depth 2,
    hidden_dims 120, kernel_size (1, 3).

    ``use_guide``: the neck's input is detached, so that the loss through this neck trains the
    neck and head but not the backbone. PaddleOCR trains PP-OCRv4 so, with a second (attention)
    head that alone trains the backbone; with the CTC head alone it would freeze the backbone.
    """

    def __init__(self, in_channels, dims=64, depth=2, hidden_dims=120, use_guide=False,
                 num_heads=8, qkv_bias=True, mlp_ratio=2.0, drop_rate=0.1, attn_drop_rate=0.1,
                 kernel_size=(3, 3), qk_scale=None):
        super().__init__()
        self.use_guide = use_guide
        padding = [kernel_size[0] // 2, kernel_size[1] // 2]
        narrow = in_channels // 8
        self.conv1 = ConvBNLayer(in_channels, narrow, list(kernel_size), padding=padding)
        self.conv2 = ConvBNLayer(narrow, hidden_dims)
        self.svtr_block = nn.LayerList([
            Block(hidden_dims, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                  qk_scale=qk_scale, drop=drop_rate, attn_drop=attn_drop_rate, epsilon=1e-5)
            for _ in range(depth)])
        self.norm = nn.LayerNorm(hidden_dims, epsilon=1e-6)
        self.conv3 = ConvBNLayer(hidden_dims, in_channels)
        self.conv4 = ConvBNLayer(2 * in_channels, narrow, list(kernel_size), padding=padding)
        self.conv1x1 = ConvBNLayer(narrow, dims)
        self.out_channels = dims

    def forward(self, x):
        if self.use_guide:
            x = x.detach()
        z = self.conv2(self.conv1(x))
        _, channels, height, _ = z.shape
        z = z.flatten(2).transpose([0, 2, 1])  # (N, H*W, C): one token per position
        for block in self.svtr_block:
            z = block(z)
        z = self.norm(z)
        # -1: the width is unknown while tracing for export (the input spec leaves it free).
        z = z.reshape([0, height, -1, channels]).transpose([0, 3, 1, 2])
        z = paddle.concat([x, self.conv3(z)], axis=1)
        return self.conv1x1(self.conv4(z))
