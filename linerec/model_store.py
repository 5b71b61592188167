"""The folder a training stage leaves behind (models/<name>/) and how to load what it holds.

    best/     weights with the best validation accuracy
    latest/   weights, optimizer state and step of the last evaluation (for resuming)

Each is a self-describing checkpoint (see linerec/training/checkpoint.py): its model.json names
the family that rebuilds it and its dict.txt the classes.
"""

from pathlib import Path

from linerec.training import checkpoint

# The models the pipeline trains: a train_<name> stage, a params section and models/<name>/.
TRAINED_MODELS = ("mobile", "server", "ppocrv4", "ppocrv6")


def model_info(family, num_classes, max_text_length, name):
    """What a checkpoint's model.json holds."""
    return {"name": name, "description": family.describe(), "num_classes": num_classes,
            "algorithm": family.algorithm, "image_shape": family.image_shape,
            "use_space_char": family.use_space_char, "max_text_length": max_text_length,
            "dict": checkpoint.DICT_FILE}


def load_trained(model_dir, which="best"):
    """(eval-mode model, info, dict path) of the ``which`` checkpoint of a trained model."""
    from linerec.families import family_from_description

    folder = Path(model_dir) / which
    info = checkpoint.read_info(folder)
    model = family_from_description(info["description"]).build(info["num_classes"])
    checkpoint.load_weights(folder, model)
    model.eval()
    return model, info, folder / checkpoint.DICT_FILE
