"""Which changes throw a finished run away: code and params that change the result do; the
loader's worker count, logging and evaluation cadence do not. Runs the stage from a copy of the
project, whose own code is edited."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from linerec.errors import PipelineError
from linerec.training import checkpoint
from tests.conftest import copy_project, write_split


@pytest.fixture
def project(tmp_path):
    project = copy_project(tmp_path / "project")
    write_split(project)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["data"].update(image_shape=[3, 32, 128], use_space_char=False)
    params["train_mobile"].update(epochs=1, batch_size=16, eval_every_steps=2, log_every_steps=1)
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    return project


def train(project):
    # The copy's own linerec, not the installed one: its code is what the test edits.
    env = dict(os.environ, PYTHONPATH=str(project))
    result = subprocess.run([sys.executable, "stages/train.py", "mobile", "--no-progress"],
                            cwd=project, env=env, capture_output=True, text=True, check=True)
    state = json.loads((project / "models/mobile/latest/state.json").read_text())
    loss_rows = (project / "metrics/train_mobile/plots/metrics/train/loss.tsv").read_text()
    steps = [int(row.split("\t")[0]) for row in loss_rows.splitlines()[1:] if row]
    return result.stdout, state, steps


def set_params(project, **values):
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["train_mobile"].update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))


def test_editing_a_model_file_trains_again_from_step_0(project):
    _, first, _ = train(project)
    assert first["step"] == 4
    backbone = project / "linerec/modeling/backbones/rec_mobilenet_v3.py"
    backbone.write_text(backbone.read_text() + "\nEDITED = True\n")

    output, second, steps = train(project)
    assert "afresh at step 0" in output and "resuming" not in output
    assert second["fingerprint"] != first["fingerprint"]
    assert steps == [1, 2, 3, 4], "the new code must train every step itself"


def test_editing_the_trainer_trains_again(project):
    _, first, _ = train(project)
    trainer = project / "linerec/training/trainer.py"
    trainer.write_text(trainer.read_text() + "\nEDITED = True\n")
    output, second, _ = train(project)
    assert "afresh at step 0" in output and second["fingerprint"] != first["fingerprint"]


def test_workers_logging_and_evaluation_cadence_do_not_throw_a_run_away(project):
    _, first, _ = train(project)
    weights = (project / "models/mobile/latest/model.pdparams").read_bytes()
    set_params(project, num_workers=1, log_every_steps=2, eval_every_steps=4, eval_batch_size=8)
    output, second, steps = train(project)
    assert "resuming mobile" in output and "at step 4/4" in output
    assert second["fingerprint"] == first["fingerprint"]
    assert (project / "models/mobile/latest/model.pdparams").read_bytes() == weights


def test_a_checkpoint_of_another_architecture_is_refused(project):
    train(project)
    from linerec.families.crnn import CRNN

    other = CRNN({"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5},
                  "neck": {"hidden_size": 32}}, [3, 32, 128]).build(11)
    with pytest.raises(PipelineError, match="does not fit the model"):
        checkpoint.load_weights(project / "models/mobile/latest", other)
