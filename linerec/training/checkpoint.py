"""Checkpoints as folders written whole: model weights, optimizer state and a JSON state.

``latest/`` is rewritten at every evaluation so an interrupted run loses at most one evaluation
interval; ``best/`` holds the weights with the best validation accuracy. A checkpoint carries the
fingerprint of the params and data that made it: a run only resumes from its own kind.
"""

import json
from pathlib import Path

import paddle

from linerec.atomic import atomic_dir, recover_dir
from linerec.errors import PipelineError

WEIGHTS = "model.pdparams"
OPTIMIZER = "model.pdopt"
STATE = "state.json"


def save(folder, model, optimizer, state):
    with atomic_dir(folder) as tmp:
        paddle.save(model.state_dict(), str(tmp / WEIGHTS))
        if optimizer is not None:
            paddle.save(optimizer.state_dict(), str(tmp / OPTIMIZER))
        (tmp / STATE).write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n",
                                 encoding="utf-8")


def read_state(folder):
    path = recover_dir(folder) / STATE
    if not path.exists() or not (Path(folder) / WEIGHTS).exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def load_weights(folder, model):
    path = recover_dir(folder) / WEIGHTS
    if not path.exists():
        raise PipelineError("checkpoint not found", where=str(path),
                            fix="train the model first (dvc repro train_mobile / train_server)")
    model.set_state_dict(paddle.load(str(path)))


def load_optimizer(folder, optimizer):
    optimizer.set_state_dict(paddle.load(str(Path(folder) / OPTIMIZER)))
