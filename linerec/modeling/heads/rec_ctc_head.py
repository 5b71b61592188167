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

    Weights and bias start uniform in +-1/sqrt(in_channels), as PaddleOCR's. ``fc_decay`` sets an
    L2 regulariser on the head's own parameters (which overrides the optimizer's weight decay for
    them); None leaves them to the optimizer.
    """

    def __init__(self, in_channels, num_classes, fc_decay=None):
        super().__init__()
        bound = 1.0 / math.sqrt(in_channels)
        regularizer = None if fc_decay is None else paddle.regularizer.L2Decay(fc_decay)

        def attr():
            return paddle.ParamAttr(initializer=nn.initializer.Uniform(-bound, bound),
                                    regularizer=regularizer)

        self.fc = nn.Linear(in_channels, num_classes, weight_attr=attr(), bias_attr=attr())
        self.in_channels = in_channels
        self.out_channels = num_classes
        self.fc_decay = fc_decay

    def forward(self, x):
        logits = self.fc(x)
        if self.training:
            return logits
        return F.softmax(logits, axis=2)
