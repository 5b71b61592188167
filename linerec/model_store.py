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


def write_model_info(model_dir, dict_path, *, name, model, num_classes, image_shape,
                     use_space_char, max_text_length, algorithm="CRNN"):
    """Writes model.json and a copy of the dictionary: what load_trained and export read."""
    import shutil

    from linerec.atomic import write_json

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dict_path, model_dir / DICT_FILE)
    write_json(model_dir / MODEL_INFO, {
        "name": name, "model": model, "num_classes": num_classes, "algorithm": algorithm,
        "image_shape": image_shape, "use_space_char": use_space_char,
        "max_text_length": max_text_length, "dict": DICT_FILE,
    })


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
