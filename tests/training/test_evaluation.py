"""Validation scores against the raw labels, never against labels filtered through the model."""

import numpy as np
import paddle
import pytest

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


def test_a_slow_set_is_read_through_an_engine_with_the_same_text_and_the_model_untouched(
        tmp_path, monkeypatch):
    from linerec.families import family_for
    from linerec.synth import fonts, render
    from linerec.training import evaluation

    texts = ["恒通超市", "营业时间8:00", "电话13800", "人民路88号", "欢迎光临"]
    faces = fonts.faces(fonts.find_fonts())
    rng = np.random.default_rng(5)
    rows = []
    for index, text in enumerate(texts):
        render.render(text, faces[index % len(faces)], rng, 0.2).save(tmp_path / f"{index}.png")
        rows.append(f"{tmp_path / f'{index}.png'}\t{text}")
    (tmp_path / "val.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    family = family_for({"name": "PPOCRv6", "variant": "tiny", "head": "labels"}, [3, 48, 320])
    chars = family.characters(sorted(set("".join(texts))), sorted(set("".join(texts))))
    dict_path = tmp_path / "dict.txt"
    dict_path.write_text("".join(c + "\n" for c in chars), encoding="utf-8")
    paddle.seed(0)
    model = family.start(family.classes(chars), log=lambda _: None)
    model.train()
    weights = {name: value.numpy().copy() for name, value in model.state_dict().items()}
    val_set = ValidationSet(tmp_path / "val.txt")
    decoder = ctc_decoder(dict_path, True)
    through_engine = []
    original = evaluation.recognize_through_engine
    monkeypatch.setattr(evaluation, "recognize_through_engine",
                        lambda *args, **kw: through_engine.append(1) or original(*args, **kw))

    monkeypatch.setattr(evaluation, "ENGINE_WORTH_S", 1e9)
    _, dygraph, _ = evaluate(model, val_set, family.image_shape, 2, decoder)
    assert not through_engine and [text for text, _ in dygraph] == texts
    monkeypatch.setattr(evaluation, "ENGINE_WORTH_S", 0.0)
    metric, engine, _ = evaluate(model, val_set, family.image_shape, 2, decoder)
    assert through_engine == [1]
    assert [text for text, _ in engine] == texts and metric.result()["acc"] == 1.0
    assert [c for _, c in engine] == pytest.approx([c for _, c in dygraph], abs=1e-3)
    # The model itself was neither converted nor changed: it still trains in dygraph.
    assert model.training
    for name, value in model.state_dict().items():
        assert np.array_equal(value.numpy(), weights[name]), name
    loss = model(paddle.to_tensor(np.zeros((1, 3, 48, 320), np.float32))).mean()
    loss.backward()
