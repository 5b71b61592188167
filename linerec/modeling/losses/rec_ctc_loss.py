"""CTC loss over the head's training-mode logits (as PaddleOCR's ``CTCLoss``)."""

import paddle
from paddle import nn


class CTCLoss(nn.Layer):
    """Mean over the batch of the per-line CTC negative log-likelihood; blank is class 0.

    ``forward(logits, labels, label_lengths)``: logits (N, T, C) as the head returns them in
    training mode (unnormalised: warpctc applies the softmax itself), labels (N, L) class ids
    padded to any L, label_lengths (N,). Every line uses all T time steps.
    """

    def __init__(self, blank=0):
        super().__init__()
        self.ctc = nn.CTCLoss(blank=blank, reduction="none")

    def forward(self, logits, labels, label_lengths):
        if isinstance(logits, (list, tuple)):
            logits = logits[-1]
        # warpctc wants float32 and time-major (T, N, C); under AMP the head may emit float16.
        logits = logits.astype("float32").transpose([1, 0, 2])
        steps, batch = logits.shape[0], logits.shape[1]
        input_lengths = paddle.full([batch], steps, dtype="int64")
        loss = self.ctc(logits, labels.astype("int32"), input_lengths, label_lengths.astype("int64"))
        return loss.mean()
