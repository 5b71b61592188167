"""Validation scores against the raw labels, never against labels filtered through the model."""

import numpy as np
import paddle

from linerec.charset import ctc_classes
from linerec.decoding import ctc_decoder
from linerec.training.evaluation import ValidationSet, evaluate
from tests.conftest import render_line


class ReadsAlways(paddle.nn.Layer):
    """Eval-mode probabilities that decode to the same class sequence for every crop."""

    def __init__(self, class_ids, num_classes):
        super().__init__()
        self.class_ids = class_ids
        self.num_classes = num_classes

    def forward(self, images):
        steps = images.shape[3] // 4
        probabilities = np.full((images.shape[0], steps, self.num_classes), 1e-3, np.float32)
        for step in range(steps):
            slot = step // 2
            cls = self.class_ids[slot] if step % 2 == 0 and slot < len(self.class_ids) else 0
            probabilities[:, step, cls] = 1.0
        return paddle.to_tensor(probabilities)


def test_a_label_character_outside_the_dictionary_counts_against_the_model(tmp_path):
    chars = list("0123456789")
    dict_path = tmp_path / "dict.txt"
    dict_path.write_text("\n".join(chars) + "\n", encoding="utf-8")
    rows = []
    for index, label in enumerate(["123", "12X3", "12 3"]):
        path = tmp_path / f"{index}.png"
        render_line(label).save(path)
        rows.append(f"{path}\t{label}")
    (tmp_path / "val.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    classes = ctc_classes(chars, False)
    model = ReadsAlways([classes.index(c) for c in "123"], len(classes))

    val_set = ValidationSet(tmp_path / "val.txt")
    metric, results, _ = evaluate(model, val_set, [3, 32, 128], 2, ctc_decoder(dict_path, False))

    assert [text for text, _ in results] == ["123", "123", "123"]
    # "12X3" stays "12X3": the model cannot emit X, and that is a miss, not a pass.
    assert metric.result()["acc"] == 2 / 3
    assert metric.result()["norm_edit_dis"] == 1 - (1 / 4) / 3
    assert val_set.not_expressible(classes) == 1
