"""Replay, distillation, interpolation and the guard (linerec/training/retention.py)."""

import numpy as np
import paddle
import pytest

from linerec.data.dataset import LineDataset
from linerec.training import retention as retain
from tests.conftest import write_split


def test_interpolation_runs_from_the_start_to_the_tuned_weights():
    start = {"w": paddle.to_tensor([0.0, 2.0]), "steps": paddle.to_tensor([1], dtype="int64")}
    tuned = {"w": paddle.to_tensor([4.0, -2.0]), "steps": paddle.to_tensor([9], dtype="int64")}
    assert retain.interpolated(start, tuned, 0.0)["w"].numpy().tolist() == [0.0, 2.0]
    assert retain.interpolated(start, tuned, 1.0)["w"].numpy().tolist() == [4.0, -2.0]
    assert retain.interpolated(start, tuned, 0.25)["w"].numpy().tolist() == [1.0, 1.0]
    # Counters are not weights: they come from the tuned model whatever the mix.
    assert retain.interpolated(start, tuned, 0.25)["steps"].numpy().tolist() == [9]


def test_distillation_is_zero_at_the_teacher_and_pulls_a_student_towards_it():
    rng = np.random.default_rng(0)
    teacher_logits = paddle.to_tensor(rng.normal(size=(2, 5, 7)).astype("float32"))
    teacher = paddle.nn.functional.softmax(teacher_logits, -1)
    assert float(retain.distillation_loss(teacher_logits, teacher)) == pytest.approx(0, abs=1e-6)

    student = paddle.create_parameter([2, 5, 7], "float32")
    student.set_value(paddle.to_tensor(rng.normal(size=(2, 5, 7)).astype("float32")))
    optimizer = paddle.optimizer.SGD(learning_rate=2.0, parameters=[student])
    losses = []
    for _ in range(20):
        loss = retain.distillation_loss(student, teacher)
        losses.append(float(loss))
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
    assert losses[0] > 0.1
    assert losses[-1] < 0.2 * losses[0], losses


def test_distillation_is_the_kl_divergence_per_line_even_for_logits_far_from_zero():
    """Against numpy: KL(teacher || softmax(student)) summed over time steps, averaged over
    lines, for logits large enough that an unshifted exp would overflow."""
    rng = np.random.default_rng(1)
    student = rng.normal(scale=30.0, size=(3, 4, 9)) + 200.0
    teacher = np.exp(rng.normal(size=(3, 4, 9)))
    teacher /= teacher.sum(-1, keepdims=True)
    shifted = student - student.max(-1, keepdims=True)
    log_student = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    expected = (teacher * (np.log(teacher) - log_student)).sum(-1).sum(-1).mean()
    loss = retain.distillation_loss(paddle.to_tensor(student.astype("float32")),
                                    paddle.to_tensor(teacher.astype("float32")))
    assert float(loss) == pytest.approx(expected, rel=1e-4)


def test_a_step_replays_the_same_lines_however_often_it_is_asked(tmp_path):
    write_split(tmp_path, n_train=24, n_val=4)
    split = tmp_path / "data" / "split"
    samples = [(str(tmp_path / key), label) for key, label in
               (line.split("\t") for line in (split / "train.txt").read_text().splitlines())]
    dataset = LineDataset("replay", split / "dict.txt", [3, 32, 128], 25, False, augment=True,
                          seed=3, samples=samples)
    replay = retain.ReplayBatches(dataset, per_batch=5, seed=3)
    images, labels, lengths = replay.batch(7)
    assert images.shape == [5, 3, 32, 128] and labels.shape[0] == 5 and lengths.shape == [5]
    again = replay.batch(7)
    assert np.array_equal(images.numpy(), again[0].numpy())
    assert np.array_equal(labels.numpy(), again[1].numpy())
    other = replay.batch(8)
    assert not np.array_equal(images.numpy(), other[0].numpy())


@pytest.mark.parametrize("guard_acc, start, max_drop, allowed", [
    (0.80, 0.82, 0.02, True), (0.79, 0.82, 0.02, False), (0.10, 0.82, None, True),
    (0.10, None, 0.02, True), (None, 0.5, 0.02, True)])
def test_the_guard_allows_a_drop_up_to_its_margin(guard_acc, start, max_drop, allowed):
    assert retain.guard_allows(guard_acc, start, max_drop) is allowed


GUARD_WORDS = ["欢迎光临", "中国银行", "北京大学", "人民医院", "新华书店", "家常菜馆", "汽车维修",
               "水果超市", "平安保险", "电话号码", "营业时间", "美容美发", "五金建材", "四川火锅",
               "兰州拉面", "烟酒副食"]


def _plate_domain(root):
    """Plate-like lines printed with a separator dot the labels leave out (as real plates are
    labelled), which PP-OCRv6 reads wrongly as shipped and learns in a few steps; a guard of
    shop-sign words it reads as shipped."""
    import random

    from tests.conftest import render_line

    rng = random.Random(0)
    images, split, guard = root / "data/img", root / "data/split", root / "data/guard"
    for folder in (images, split, guard):
        folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(80):
        text = rng.choice("ABCDEF") + "".join(rng.choice("0123456789") for _ in range(4))
        render_line(text[0] + "·" + text[1:], height=48, font_size=36).save(
            images / f"{index}.jpg", quality=95)
        lines.append(f"{images / f'{index}.jpg'}\t{text}\n")
    (split / "train.txt").write_text("".join(lines[:64]), encoding="utf-8")
    (split / "val.txt").write_text("".join(lines[64:]), encoding="utf-8")
    (split / "dict.txt").write_text("\n".join("ABCDEF0123456789") + "\n", encoding="utf-8")
    for index, word in enumerate(GUARD_WORDS):
        render_line(word, height=48, font_size=36).save(guard / f"{index}.jpg", quality=95)
    (guard / "labels.tsv").write_text("".join(f"{i}.jpg\t{w}\n" for i, w in enumerate(GUARD_WORDS)),
                                      encoding="utf-8")
    return split, guard


def _fine_tune(root, lr, max_drop, interpolate=(), freeze_backbone=False):
    from linerec.training.config import TrainConfig
    from linerec.training.trainer import Trainer

    split, guard = root / "data/split", root / "data/guard"
    cfg = TrainConfig(
        name="ppocrv6", model={"name": "PPOCRv6", "variant": "tiny", "head": "all",
                               "freeze_backbone": freeze_backbone},
        image_shape=[3, 48, 320], max_text_length=25, use_space_char=False, epochs=20,
        batch_size=8, lr=lr, warmup_epochs=0, l2=0.0, augment=False, eval_every_steps=5,
        log_every_steps=5, num_workers=0, seed=0, amp=False, max_steps=10,
        train_file=str(split / "train.txt"), val_file=str(split / "val.txt"),
        dict_file=str(split / "dict.txt"),
        retention=retain.Retention(guard_dir=str(guard), guard_max_drop=max_drop,
                                   interpolate=tuple(interpolate)))
    said = []
    run = f"{lr}-{max_drop}-{'-'.join(map(str, interpolate))}{'-frozen' * freeze_backbone}"
    state = Trainer(cfg, root / "models" / run, root / "live" / run, log=said.append).run(
        progress=False)
    return state, said


def test_the_guard_refuses_a_run_that_forgets_and_keeps_one_that_does_not(tmp_path):
    _plate_domain(tmp_path)
    # The guard holds 16 lines: a margin of 0.1 lets one go.
    forgetful, said = _fine_tune(tmp_path, lr=2e-4, max_drop=0.1)
    assert forgetful["start_guard_acc"] == 1.0 and forgetful["best_acc"] == 0.0
    assert forgetful["best_step"] == 0, "the forgetful run's weights must not become best/"
    assert any("not kept as best/" in line for line in said), said
    # The same run without a limit keeps what it learned: the guard alone refused it.
    unguarded, _ = _fine_tune(tmp_path, lr=2e-4, max_drop=None)
    assert unguarded["best_step"] > 0 and unguarded["best_acc"] >= 0.9
    assert unguarded["best_guard_acc"] < 0.9
    gentle, said = _fine_tune(tmp_path, lr=4e-5, max_drop=0.1)
    assert gentle["best_step"] > 0 and gentle["best_acc"] >= 0.9, said
    assert gentle["best_guard_acc"] >= 0.9


def test_with_the_backbone_frozen_the_forgetful_rate_learns_the_domain_and_keeps_the_guard(tmp_path):
    from linerec.charset import read_dictionary
    from linerec.families import family_from_description
    from linerec.model_store import load_trained

    _plate_domain(tmp_path)
    state, said = _fine_tune(tmp_path, lr=2e-4, max_drop=0.1, freeze_backbone=True)
    assert state["best_step"] > 0 and state["best_acc"] >= 0.9, said
    assert state["best_guard_acc"] >= 0.9, said
    model, info, dict_path = load_trained(tmp_path / "models/0.0002-0.1--frozen", "best")
    family = family_from_description(info["description"])
    start = family.start(family.classes(read_dictionary(dict_path)), log=lambda _: None)
    tuned, begun = model.state_dict(), start.state_dict()
    # Batch norm statistics included: only the neck and the head may have moved.
    moved = {name.split(".")[0] for name in tuned
             if not np.array_equal(tuned[name].numpy(), begun[name].numpy())}
    assert moved == {"neck", "head"}, moved


def test_interpolating_towards_a_forgetful_run_finds_weights_the_guard_allows(tmp_path):
    from linerec.model_store import load_trained

    _plate_domain(tmp_path)
    state, said = _fine_tune(tmp_path, lr=2e-4, max_drop=0.1, interpolate=(0.2, 0.4))
    tried = {mix["alpha"]: mix for mix in state["interpolation"]}
    assert tried[0.2]["acc"] < tried[0.4]["acc"], said
    assert state["best_alpha"] == 0.4 and state["best_acc"] == tried[0.4]["acc"] >= 0.9, said
    assert state["best_guard_acc"] >= 0.9
    # best/ holds the mix: reloaded, it reads val as the mix did.
    from linerec.decoding import ctc_decoder
    from linerec.training.evaluation import ValidationSet, evaluate

    best = tmp_path / "models" / "0.0002-0.1-0.2-0.4"
    model, info, dict_path = load_trained(best, "best")
    metric, _, _ = evaluate(model, ValidationSet(tmp_path / "data/split/val.txt"),
                            info["image_shape"], 16, ctc_decoder(dict_path, False))
    assert metric.result()["acc"] == state["best_acc"]


@pytest.mark.parametrize("retain, key", [
    ({"replay_per_batch": 4, "replay_labels": False}, "retain.distill_weight"),
    ({"distill_weight": 1.0}, "retain.distill_weight"),
    ({"interpolate": [0.5, 1.5]}, "retain.interpolate"),
    ({"interpolate": "0.5"}, "retain.interpolate"),
    ({"replay_per_batch": -1}, "retain.replay_per_batch"),
])
def test_retain_settings_that_cannot_work_name_their_key(retain, key):
    from linerec.errors import PipelineError
    from linerec.params import Params
    from linerec.training.config import retention_from_params

    params = Params({"train_ppocrv6": {"retain": retain}, "replay": {"dir": "data/general/replay"},
                     "guard": {"dir": "data/general/guard", "max_drop": 0.02}})
    with pytest.raises(PipelineError) as error:
        retention_from_params(params, params.section("train_ppocrv6"))
    assert key in str(error.value.where) + str(error.value)


def test_replay_needs_a_folder_and_a_missing_guard_folder_says_how_to_make_it(tmp_path):
    from linerec.errors import PipelineError
    from linerec.params import Params
    from linerec.training.config import folder_samples, retention_from_params

    params = Params({"train_ppocrv6": {"retain": {"replay_per_batch": 4, "replay_labels": True}},
                     "replay": {"dir": ""}})
    with pytest.raises(PipelineError, match="replay folder"):
        retention_from_params(params, params.section("train_ppocrv6"))
    with pytest.raises(PipelineError) as error:
        folder_samples(tmp_path / "nowhere", "guard.dir")
    assert "guard.dir" in error.value.where and "dvc repro general" in error.value.fix
