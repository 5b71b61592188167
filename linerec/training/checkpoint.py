"""Checkpoints as folders written whole, each one self-describing:

    model.pdparams   weights
    model.pdopt      optimizer and lr-schedule state (latest/ only)
    rng.pkl          Paddle's random generators (latest/ only: dropout continues where it was)
    state.json       step, epoch, best scores and the fingerprint of the run that made it
    model.json       the family that rebuilds the weights, class count, preprocessing
    dict.txt         the dictionary of its classes

``latest/`` is rewritten at every evaluation so an interrupted run loses at most one evaluation
interval; ``best/`` holds the weights with the best validation accuracy. Since each folder holds
its own description, a new run's model.json can never be read with an older run's weights.
"""

import json
import pickle
import shutil
from pathlib import Path

import paddle

from linerec.atomic import atomic_dir, recover_dir
from linerec.errors import PipelineError

WEIGHTS = "model.pdparams"
OPTIMIZER = "model.pdopt"
RNG = "rng.pkl"
STATE = "state.json"
MODEL_INFO = "model.json"
DICT_FILE = "dict.txt"


def save(folder, model, optimizer, state, info, dict_path):
    with atomic_dir(folder) as tmp:
        paddle.save(model.state_dict(), str(tmp / WEIGHTS))
        if optimizer is not None:
            paddle.save(optimizer.state_dict(), str(tmp / OPTIMIZER))
            (tmp / RNG).write_bytes(pickle.dumps(paddle.get_rng_state()))
        (tmp / STATE).write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
        (tmp / MODEL_INFO).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
        shutil.copyfile(dict_path, tmp / DICT_FILE)


def read_state(folder):
    folder = recover_dir(folder)
    if not all((folder / name).exists() for name in (STATE, WEIGHTS, MODEL_INFO, DICT_FILE)):
        return None
    return json.loads((folder / STATE).read_text(encoding="utf-8"))


def read_info(folder):
    path = recover_dir(folder) / MODEL_INFO
    if not path.exists():
        raise PipelineError("no trained model here", where=str(path),
                            fix=f"train it first: dvc repro train_{Path(folder).parent.name}")
    return json.loads(path.read_text(encoding="utf-8"))


def load_weights(folder, model):
    """Loads weights that must fit ``model`` exactly: a missing, unexpected or reshaped tensor
    means the checkpoint was made by another architecture, and is refused."""
    path = recover_dir(folder) / WEIGHTS
    if not path.exists():
        raise PipelineError("checkpoint not found", where=str(path),
                            fix=f"train the model first (dvc repro train_{Path(folder).parent.name})")
    saved = paddle.load(str(path))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    reshaped = sorted(name for name in set(saved) & set(expected)
                      if list(saved[name].shape) != list(expected[name].shape))
    if missing or unexpected or reshaped:
        details = "; ".join(f"{kind}: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
                            for kind, names in (("missing", missing), ("unexpected", unexpected),
                                                ("other shape", reshaped)) if names)
        raise PipelineError(f"the checkpoint does not fit the model ({details})", where=str(path),
                            fix="it was made by other model code or params: retrain it "
                                f"(dvc repro train_{Path(folder).parent.name})")
    model.set_state_dict(saved)


def load_optimizer(folder, optimizer):
    folder = Path(folder)
    optimizer.set_state_dict(paddle.load(str(folder / OPTIMIZER)))
    if (folder / RNG).exists():
        paddle.set_rng_state(pickle.loads((folder / RNG).read_bytes()))
