"""The sequence encoder of CRNN (Shi et al., 2015): feature map columns -> BiLSTM features.

Mirrors PaddleOCR's ``SequenceEncoder`` with ``encoder_type: rnn`` (sublayers
``encoder_reshape`` and ``encoder.lstm``), so that its published neck weights load by name.
"""

import math

import paddle
from paddle import nn

from linerec.errors import PipelineError


class Im2Seq(nn.Layer):
    """(N, C, 1, W) feature map -> (N, W, C) sequence: one time step per column."""

    def __init__(self, in_channels):
        super().__init__()
        self.out_channels = in_channels

    def forward(self, x):
        # -1: an unknown height while tracing for export (the exported input fixes it to 32).
        if x.shape[2] not in (1, -1):
            raise ValueError(f"Im2Seq expects a feature map of height 1, got shape {list(x.shape)}; "
                             "is the input image height 32?")
        return x.squeeze(axis=2).transpose([0, 2, 1])


class EncoderWithRNN(nn.Layer):
    """A 2-layer bidirectional LSTM; ``out_channels`` = 2 x hidden_size.

    Its weights start uniform in +-1/sqrt(hidden_size) (Paddle's and PaddleOCR's default);
    ``init_scale`` widens that range: a small LSTM started that way has small outputs and
    gradients, which keeps a CRNN trained from scratch on the CTC plateau (params.yaml
    train_mobile).
    """

    def __init__(self, in_channels, hidden_size, init_scale=1.0):
        super().__init__()
        self.out_channels = hidden_size * 2
        weights = {}
        if init_scale != 1.0:
            bound = init_scale / math.sqrt(hidden_size)
            weights = {name: paddle.ParamAttr(initializer=nn.initializer.Uniform(-bound, bound))
                       for name in ("weight_ih_attr", "weight_hh_attr")}
        self.lstm = nn.LSTM(in_channels, hidden_size, num_layers=2, direction="bidirectional",
                            **weights)

    def forward(self, x):
        output, _ = self.lstm(x)
        return output


class SequenceEncoder(nn.Layer):
    """Im2Seq followed by the BiLSTM encoder (the only encoder_type this project uses: 'rnn')."""

    def __init__(self, in_channels, hidden_size=48, encoder_type="rnn", init_scale=1.0):
        super().__init__()
        if encoder_type != "rnn":
            raise PipelineError(f"unknown neck encoder_type {encoder_type!r}",
                                where="model.neck.encoder_type", fix="use 'rnn' (or leave it out)")
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool) or hidden_size < 1:
            raise PipelineError(f"hidden_size must be a positive integer, got {hidden_size!r}",
                                where="model.neck.hidden_size", fix="e.g. 48 (mobile) or 256 (server)")
        self.encoder_type = encoder_type
        self.encoder_reshape = Im2Seq(in_channels)
        if not isinstance(init_scale, (int, float)) or isinstance(init_scale, bool) \
                or init_scale <= 0:
            raise PipelineError(f"init_scale must be a positive number, got {init_scale!r}",
                                where="model.neck.init_scale", fix="e.g. 1.0 (Paddle's range)")
        self.encoder = EncoderWithRNN(in_channels, hidden_size, init_scale)
        self.out_channels = self.encoder.out_channels

    def forward(self, x):
        return self.encoder(self.encoder_reshape(x))
