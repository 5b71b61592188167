"""What the trainer, evaluate and export need from one kind of recogniser.

A family is built from its ``model`` section of params.yaml (plus the training input shape) and
knows its own architecture, dictionary rule, starting weights and preprocessing. Nothing it
returns depends on which stage asks, and it never reads params.yaml itself.
"""

import inspect
from pathlib import Path

from linerec.charset import ctc_classes


class ModelFamily:
    """Subclasses set ``name`` and ``algorithm`` and implement build, start and code_modules."""

    name = ""
    # paddleocr's TextRecognizer name for the family's preprocessing (its rec_algorithm).
    algorithm = "CRNN"

    def __init__(self, options, image_shape, use_space_char=True):
        self.options = dict(options)
        self.image_shape = list(image_shape)
        self.use_space_char = use_space_char

    def describe(self):
        """JSON that rebuilds this family (model.json) and identifies it (the run fingerprint)."""
        return {"family": self.name, "options": self.options, "image_shape": self.image_shape,
                "use_space_char": self.use_space_char}

    def characters(self, dictionary_chars, label_chars):
        """The characters the head is built for: by default the split's dictionary."""
        return list(dictionary_chars)

    def classes(self, characters):
        return ctc_classes(characters, self.use_space_char)

    def build(self, num_classes):
        """The architecture with fresh weights."""
        raise NotImplementedError

    def start(self, classes, log=print):
        """The model a new training run starts from (pretrained where the family has weights)."""
        return self.build(len(classes))

    @property
    def starts_pretrained(self):
        return False

    def pretrained_dictionary(self):
        """The dictionary file of the pretrained head; None for a family trained from scratch."""
        return None

    def weight_files(self):
        """Files of pretrained weights that ``start`` reads."""
        return []

    def code_modules(self):
        """Modules whose code decides what training this family produces."""
        raise NotImplementedError

    def code_files(self):
        files = {Path(inspect.getsourcefile(module)) for module in self.code_modules()}
        files.add(Path(inspect.getsourcefile(type(self))))
        files.add(Path(__file__))
        return sorted(files)
