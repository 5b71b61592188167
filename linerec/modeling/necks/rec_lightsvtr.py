"""The sequence necks of PaddleOCR's PP-OCRv6 recognisers, between PPLCNetV4 and the CTC head.

small (and medium): ``EncoderWithLightSVTR``, PaddleOCR's ``lightsvtr`` neck. A 1x1 conv
reduces the channels, a depthwise 1 x k conv mixes neighbouring columns, two post-residual SVTR
blocks (global self-attention, then an MLP) mix the whole line, and a second 1x1 conv of the
input is added back at the end.

tiny: ``EncoderWithLocalConv``. PaddleOCR's tiny has only a reshape for a neck and does the rest
in its CTC head: a depthwise 1x5 and a 1x1 conv over the sequence, then two linear layers with
nothing between them. Here the convs and the first linear (``fc1``, to 80 channels) are the
neck, so that for both sizes ``head.fc`` is the one layer that knows the characters.

Both take the backbone's (N, C, 1, W) map and return an (N, W, out_channels) sequence.
PaddleOCR's configs detach the neck's input (``use_guide``) because a second, NRTR head trains
the backbone there; with the CTC head alone that would freeze the backbone, so it is not done.
"""

from paddle import nn


class ConvBNLayer(nn.Layer):
    """Conv (no bias), BatchNorm, activation."""

    def __init__(self, in_channels, out_channels, kernel_size=1, groups=1, act=nn.Silu):
        super().__init__()
        if isinstance(kernel_size, int):
            kernel_size = (kernel_size, kernel_size)
        padding = (kernel_size[0] // 2, kernel_size[1] // 2)
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, padding=padding,
                              groups=groups, bias_attr=False)
        self.norm = nn.BatchNorm2D(out_channels)
        self.act = act()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


def to_sequence(x):
    """(N, C, 1, W) -> (N, W, C)."""
    return x.squeeze(axis=2).transpose([0, 2, 1])


class Attention(nn.Layer):
    """Multi-head self-attention over all time steps (SVTR's 'Global' mixer)."""

    def __init__(self, dim, num_heads=8, qkv_bias=True, attn_drop=0.0, proj_drop=0.0):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias_attr=None if qkv_bias else False)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        # 0 and -1 in the shapes keep batch and width dynamic in an exported program.
        qkv = self.qkv(x).reshape([0, -1, 3, self.num_heads, self.head_dim])
        qkv = qkv.transpose([2, 0, 3, 1, 4])  # (3, N, heads, T, head_dim)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = nn.functional.softmax(q @ k.transpose([0, 1, 3, 2]), axis=-1)
        x = (self.attn_drop(attn) @ v).transpose([0, 2, 1, 3])
        x = x.reshape([0, -1, self.num_heads * self.head_dim])
        return self.proj_drop(self.proj(x))


class Mlp(nn.Layer):
    def __init__(self, dim, hidden, drop=0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.Silu()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Block(nn.Layer):
    """x + attention(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim, num_heads, mlp_ratio, drop=0.0, attn_drop=0.0, epsilon=1e-5):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, epsilon=epsilon)
        self.mixer = Attention(dim, num_heads, attn_drop=attn_drop, proj_drop=drop)
        self.norm2 = nn.LayerNorm(dim, epsilon=epsilon)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x):
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class EncoderWithLightSVTR(nn.Layer):
    """PP-OCRv6 small's neck: ``dims`` = 120, ``depth`` = 2, ``mlp_ratio`` = 2, kernel 7.

    Dropout (0.1, PaddleOCR's SVTR default) acts in training mode only.
    """

    def __init__(self, in_channels, dims=120, depth=2, num_heads=8, mlp_ratio=2.0,
                 local_kernel=7, drop_rate=0.1, attn_drop_rate=0.1):
        super().__init__()
        # Built in the order forward uses them, which is the order of the shipped weights.
        self.skip_conv = ConvBNLayer(in_channels, dims, 1)
        self.conv_reduce = ConvBNLayer(in_channels, dims, 1)
        self.local_conv = ConvBNLayer(dims, dims, (1, local_kernel), groups=dims)
        self.svtr_block = nn.LayerList(
            [Block(dims, num_heads, mlp_ratio, drop_rate, attn_drop_rate) for _ in range(depth)])
        self.norm = nn.LayerNorm(dims, epsilon=1e-6)
        self.out_channels = dims

    def forward(self, x):
        skip = self.skip_conv(x)
        z = self.conv_reduce(x)
        z = z + self.local_conv(z)
        z = to_sequence(z)
        for block in self.svtr_block:
            z = block(z)
        return self.norm(z) + to_sequence(skip)


class EncoderWithLocalConv(nn.Layer):
    """PP-OCRv6 tiny's neck: depthwise 1x5 and 1x1 conv+BN+hardswish, then ``fc1``."""

    def __init__(self, in_channels, mid_channels=80, local_kernel=5):
        super().__init__()
        self.local_conv = ConvBNLayer(in_channels, in_channels, (1, local_kernel),
                                      groups=in_channels, act=nn.Hardswish)
        self.point_conv = ConvBNLayer(in_channels, in_channels, 1, act=nn.Hardswish)
        self.fc1 = nn.Linear(in_channels, mid_channels)
        self.out_channels = mid_channels

    def forward(self, x):
        return self.fc1(to_sequence(self.point_conv(self.local_conv(x))))
