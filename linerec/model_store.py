"""The folder a training stage leaves behind (models/<name>/): what it holds and how to load it.

    model.json   architecture, class count and preprocessing the model was trained with
    dict.txt     its dictionary
    best/        weights with the best validation accuracy
    latest/      weights, optimizer state and step of the last evaluation (for resuming)
"""

import json
from pathlib import Path

from linerec.errors import PipelineError

MODEL_INFO = "model.json"
DICT_FILE = "dict.txt"


def read_model_info(model_dir):
    path = Path(model_dir) / MODEL_INFO
    if not path.exists():
        name = Path(model_dir).name
        raise PipelineError("no trained model here", where=str(path),
                            fix=f"train it first: dvc repro train_{name}")
    return json.loads(path.read_text(encoding="utf-8"))


def load_trained(model_dir, which="best"):
    """Builds the recogniser described by model.json and loads its ``which`` checkpoint."""
    from linerec.modeling.recognizer import build_recognizer
    from linerec.training import checkpoint

    info = read_model_info(model_dir)
    model = build_recognizer(info["model"], num_classes=info["num_classes"])
    checkpoint.load_weights(Path(model_dir) / which, model)
    model.eval()
    return model, info
