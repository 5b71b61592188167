"""The training loop on real rendered lines: loss falls, checkpoints reload, runs resume."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml

from linerec.decoding import ctc_decoder
from linerec.model_store import load_trained
from linerec.training.config import TrainConfig
from linerec.training.evaluation import evaluate
from linerec.training.trainer import Trainer
from tests.conftest import ROOT, write_split

MOBILE = {"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5,
                       "small_stride": [1, 2, 2, 2]}, "neck": {"hidden_size": 48}}


def tiny_config(**overrides):
    values = dict(name="mobile", model=MOBILE, image_shape=[3, 32, 128], max_text_length=25,
                  use_space_char=False, epochs=4, batch_size=16, lr=0.002, warmup_epochs=0,
                  l2=1e-5, augment=False, eval_every_steps=4, log_every_steps=2, num_workers=0,
                  seed=0, amp=False)
    values.update(overrides)
    return TrainConfig(**values)


def read_losses(live_dir):
    rows = (Path(live_dir) / "plots/metrics/train/loss.tsv").read_text().split("\n")[1:]
    return [float(row.split("\t")[1]) for row in rows if row]


def test_a_few_steps_lower_the_loss(split_dir):
    state = Trainer(tiny_config(), "models/mobile", "metrics/train_mobile", log=lambda *_: None).run(
        progress=False)
    assert state["step"] == 16
    losses = read_losses("metrics/train_mobile")
    assert losses[-1] < 0.5 * losses[0], losses


def test_reloaded_checkpoint_evaluates_identically(split_dir):
    trainer = Trainer(tiny_config(epochs=1), "models/mobile", "metrics/train_mobile",
                      log=lambda *_: None)
    trainer.run(progress=False)
    decoder = ctc_decoder("models/mobile/latest/dict.txt", False)
    shape = trainer.family.image_shape
    before, predictions_before, _ = evaluate(trainer.model, trainer.val_set, shape, 8, decoder)
    reloaded, _, _ = load_trained("models/mobile", "latest")
    after, predictions_after, _ = evaluate(reloaded, trainer.val_set, shape, 8, decoder)
    assert predictions_after == predictions_before
    assert after.result() == before.result()


def _project_with_params(path, train_overrides):
    write_split(path)
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["data"].update(image_shape=[3, 32, 128], use_space_char=False)
    params["train_mobile"].update(train_overrides)
    (path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    return path


def _train_command():
    return [sys.executable, str(ROOT / "stages/train.py"), "mobile", "--no-progress"]


def test_a_run_killed_mid_way_resumes_at_its_checkpoint_and_ends_where_an_unbroken_run_ends(tmp_path):
    # Augmentation on: a resumed run must draw the same augmentations an unbroken one draws.
    overrides = dict(epochs=6, batch_size=16, eval_every_steps=3, log_every_steps=1, lr=0.002,
                     warmup_epochs=0, num_workers=0, augment=True)
    unbroken = _project_with_params(tmp_path / "unbroken", overrides)
    subprocess.run(_train_command(), cwd=unbroken, check=True, capture_output=True)

    broken = _project_with_params(tmp_path / "broken", overrides)
    process = subprocess.Popen(_train_command(), cwd=broken, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    state_file = broken / "models/mobile/latest/state.json"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if state_file.exists() and json.loads(state_file.read_text())["step"] >= 6:
            break
        time.sleep(0.05)
    assert process.poll() is None, "training finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = json.loads(state_file.read_text())["step"]
    assert 6 <= killed_at < 24

    resumed = subprocess.run(_train_command(), cwd=broken, check=True, capture_output=True, text=True)
    assert f"at step {killed_at}/24" in resumed.stdout
    final = json.loads(state_file.read_text())
    assert final["step"] == 24
    expected = json.loads((unbroken / "models/mobile/latest/state.json").read_text())
    assert final["best_acc"] == expected["best_acc"]
    assert final["best_norm_edit_dis"] == pytest.approx(expected["best_norm_edit_dis"])
    mine = paddle.load(str(broken / "models/mobile/latest/model.pdparams"))
    theirs = paddle.load(str(unbroken / "models/mobile/latest/model.pdparams"))
    for key, value in theirs.items():
        np.testing.assert_allclose(mine[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)
    steps = [int(r.split("\t")[0]) for r in
             (broken / "metrics/train_mobile/plots/metrics/train/loss.tsv").read_text().split("\n")[1:] if r]
    assert steps == list(range(1, 25)), "a resumed run must not log a step twice"


def test_a_run_with_other_params_starts_afresh_and_keeps_the_old_best_until_it_has_its_own(
        split_dir):
    quiet = dict(log=lambda *_: None)
    Trainer(tiny_config(epochs=1), "models/mobile", "metrics/train_mobile", **quiet).run(
        progress=False)
    old_best = Path("models/mobile/best/model.pdparams").read_bytes()
    old_fingerprint = json.loads(Path("models/mobile/latest/state.json").read_text())["fingerprint"]

    messages = []
    changed = Trainer(tiny_config(epochs=1, lr=0.0005), "models/mobile", "metrics/train_mobile",
                      log=messages.append)
    assert changed.state["step"] == 0 and changed.fingerprint != old_fingerprint
    assert Path("models/mobile/best/model.pdparams").read_bytes() == old_best, \
        "building the trainer must not touch the old run's best/"
    state = changed.run(progress=False)
    assert any("afresh at step 0" in m for m in messages)
    assert state["step"] == 4
    best_state = json.loads(Path("models/mobile/best/state.json").read_text())
    assert best_state["fingerprint"] == changed.fingerprint
    assert read_losses("metrics/train_mobile") and len(read_losses("metrics/train_mobile")) == 2


def test_two_runs_of_a_few_hundred_steps_give_identical_weights_and_metrics(tmp_path, monkeypatch):
    from tests.conftest import write_split

    results = []
    for run in ("first", "second"):
        folder = tmp_path / run
        write_split(folder, n_train=96, n_val=16)
        monkeypatch.chdir(folder)
        config = tiny_config(epochs=17, batch_size=8, eval_every_steps=102, log_every_steps=1)
        trainer = Trainer(config, "models/mobile", "metrics/train_mobile", log=lambda *_: None)
        state = trainer.run(progress=False)
        assert state["step"] == 204
        weights = {k: v.numpy() for k, v in trainer.model.state_dict().items()}
        results.append((state["best_acc"], state["best_norm_edit_dis"], read_losses(
            "metrics/train_mobile"), weights))
    first, second = results
    assert first[:3] == second[:3]
    losses = first[2]
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:3]), "the run must actually learn"
    for name, value in first[3].items():
        np.testing.assert_array_equal(value, second[3][name], err_msg=name)
