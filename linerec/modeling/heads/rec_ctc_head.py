"""The CTC head (Graves et al., 2006): one linear projection of each time step onto the classes.

Mirrors PaddleOCR's ``CTCHead`` (sublayer ``fc``): raw logits in training mode, for the CTC
loss; per-time-step softmax probabilities in eval mode, for decoding and export.
"""

import math

import paddle
import paddle.nn.functional as F
from paddle import nn


class CTCHead(nn.Layer):
    """Linear ``fc``: (N, T, in_channels) -> (N, T, num_classes); class 0 is the CTC blank.

    Weights and bias start uniform in +-1/sqrt(in_channels), as PaddleOCR's; ``init_scale``
    widens the weights' range. A CRNN's BiLSTM starts with small outputs, so with PaddleOCR's
    range the logits, and the gradient the head sends back into the BiLSTM, start small: on the
    sample, the mobile CRNN then needed over 80 steps to fit a single batch of 16 lines, and 3x
    halved that (params.yaml train_mobile sets the scale). ``fc_decay`` sets an L2 regulariser
    on the head's own parameters (which overrides the optimizer's weight decay for them); None
    leaves them to the optimizer.
    """

    def __init__(self, in_channels, num_classes, fc_decay=None, init_scale=1.0):
        super().__init__()
        bound = 1.0 / math.sqrt(in_channels)
        regularizer = None if fc_decay is None else paddle.regularizer.L2Decay(fc_decay)

        def attr(scale=1.0):
            return paddle.ParamAttr(
                initializer=nn.initializer.Uniform(-bound * scale, bound * scale),
                regularizer=regularizer)

        self.fc = nn.Linear(in_channels, num_classes, weight_attr=attr(init_scale),
                            bias_attr=attr())
        self.in_channels = in_channels
        self.out_channels = num_classes
        self.fc_decay = fc_decay

    def forward(self, x):
        logits = self.fc(x)
        if self.training:
            return logits
        return F.softmax(logits, axis=2)
