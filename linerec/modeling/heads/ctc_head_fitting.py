"""Fitting a pretrained CTC head to another dictionary by choosing its columns.

The head is ``softmax(x W + b)`` with one column of W per class. Keeping a subset of columns gives
a model whose probabilities are the original ones renormalised over that subset: wherever the
original's most likely class at a time step is kept, it stays the most likely, so a line whose
greedy decoding used only kept classes decodes identically. A class the source lacks gets a new
column (zero weights, the source's lowest bias): unlikely until fine-tuning teaches it.
"""

from dataclasses import dataclass

import numpy as np
import paddle

from linerec.modeling.heads.rec_ctc_head import CTCHead


@dataclass
class HeadFit:
    source_classes: int
    classes: int
    kept: int
    added: int

    def __str__(self):
        return (f"CTC head {self.source_classes} → {self.classes} classes "
                f"({self.kept} kept, {self.added} new)")


def fit_ctc_head(head, source_classes, classes):
    """A new CTCHead over ``classes`` (names; index 0 the blank in both lists) built from
    ``head``, which was trained over ``source_classes``. Returns (new head, HeadFit)."""
    if not classes or classes[0] != source_classes[0]:
        raise ValueError("the CTC blank must be class 0 of both dictionaries")
    if len(set(classes)) != len(classes):
        raise ValueError("a class appears twice in the new dictionary")
    index = {name: i for i, name in enumerate(source_classes)}
    weight = head.fc.weight.numpy()
    bias = head.fc.bias.numpy()
    new_weight = np.zeros((weight.shape[0], len(classes)), dtype=weight.dtype)
    new_bias = np.full(len(classes), bias.min(), dtype=bias.dtype)
    known = [(i, index[name]) for i, name in enumerate(classes) if name in index]
    if known:
        target, source = map(list, zip(*known))
        new_weight[:, target] = weight[:, source]
        new_bias[target] = bias[source]
    fitted = CTCHead(head.in_channels, len(classes), fc_decay=head.fc_decay)
    fitted.fc.weight.set_value(paddle.to_tensor(new_weight))
    fitted.fc.bias.set_value(paddle.to_tensor(new_bias))
    if not head.training:
        fitted.eval()
    return fitted, HeadFit(len(source_classes), len(classes), len(known), len(classes) - len(known))
