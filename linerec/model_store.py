"""The folder a training stage leaves behind (models/<name>/): what it holds and how to load it.

    model.json   architecture, class count and preprocessing the model was trained with
    dict.txt     its dictionary
    best/        weights with the best validation accuracy
    latest/      weights, optimizer state and step of the last evaluation (for resuming)
    base/        (PP-OCRv4 only) the shipped program with its head fitted to the labels,
                 which best/ and latest/ hold weights for
"""

import json
from pathlib import Path

from linerec.errors import PipelineError

MODEL_INFO = "model.json"
DICT_FILE = "dict.txt"
# The models the pipeline trains: a train_<name> stage, a params section and models/<name>/.
TRAINED_MODELS = ("mobile", "server", "ppocrv4")


def read_model_info(model_dir):
    path = Path(model_dir) / MODEL_INFO
    if not path.exists():
        name = Path(model_dir).name
        raise PipelineError("no trained model here", where=str(path),
                            fix=f"train it first: dvc repro train_{name}")
    return json.loads(path.read_text(encoding="utf-8"))


def is_program_model(model_cfg):
    """True for models trained as a shipped inference program (PP-OCRv4), not built in paddle.nn."""
    from linerec.modeling import ppocrv4

    return model_cfg.get("name") == ppocrv4.NAME


def build_model(model_cfg, num_classes, model_dir):
    """The untrained layer for a model section: a CRNN from params, or the program in base/."""
    if is_program_model(model_cfg):
        from linerec.modeling import ppocrv4
        from linerec.modeling.program_recognizer import ProgramRecognizer

        return ProgramRecognizer(Path(model_dir) / ppocrv4.BASE_DIR)
    from linerec.modeling.recognizer import build_recognizer

    return build_recognizer(model_cfg, num_classes=num_classes)


def load_trained(model_dir, which="best"):
    """Builds the recogniser described by model.json and loads its ``which`` checkpoint."""
    from linerec.training import checkpoint

    info = read_model_info(model_dir)
    model = build_model(info["model"], info["num_classes"], model_dir)
    checkpoint.load_weights(Path(model_dir) / which, model)
    model.eval()
    return model, info
