"""A CRNN text-line recogniser as four explicit parts: transform -> backbone -> neck -> head.

``build_recognizer`` turns the plain ``model`` dict of params.yaml into one, e.g.::

    {"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5,
                  "small_stride": [1, 2, 2, 2]},
     "neck": {"hidden_size": 48}}                       # PaddleOCR's ch_ppocr_mobile_v2.0
    {"backbone": {"name": "ResNet", "layers": 34},
     "neck": {"hidden_size": 256}}                      # PaddleOCR's ch_ppocr_server_v2.0

Attribute names (``backbone``, ``neck``, ``head``) are those of PaddleOCR's ``BaseModel``, so
the state-dict keys of a whole model match its published ``.pdparams``.
"""

import inspect

from paddle import nn

from linerec.errors import PipelineError
from linerec.modeling.backbones.rec_mobilenet_v3 import MobileNetV3
from linerec.modeling.backbones.rec_resnet_vd import ResNet
from linerec.modeling.heads.rec_ctc_head import CTCHead
from linerec.modeling.necks.rnn import SequenceEncoder

BACKBONES = ("MobileNetV3", "ResNet")
_SECTIONS = ("transform", "backbone", "neck", "head")


class Recognizer(nn.Layer):
    """(N, 3, 32, W) images -> (N, W/4, num_classes): logits in training mode, probabilities in eval.

    ``transform`` is a slot for a rectification network (e.g. TPS) and is None here.
    """

    def __init__(self, backbone, neck, head, transform=None):
        super().__init__()
        self.transform = transform
        self.backbone = backbone
        self.neck = neck
        self.head = head

    @property
    def num_classes(self):
        return self.head.out_channels

    def forward(self, x):
        if self.transform is not None:
            x = self.transform(x)
        x = self.backbone(x)
        x = self.neck(x)
        return self.head(x)


def _section(model_cfg, key, required=False):
    section = model_cfg.get(key)
    if section is None:
        if required:
            raise PipelineError(f"the model has no '{key}' section", where=f"model.{key}",
                                fix="e.g. backbone: {name: MobileNetV3, model_name: small, scale: 0.5}")
        return {}
    if not isinstance(section, dict):
        raise PipelineError(f"model.{key} must be a mapping, got {section!r}", where=f"model.{key}")
    return dict(section)


def _construct(cls, where, fixed, options):
    """Calls ``cls(**fixed, **options)``, turning an option it does not take into a PipelineError."""
    accepted = [name for name in inspect.signature(cls.__init__).parameters
                if name not in ("self", *fixed)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise PipelineError(f"{cls.__name__} has no option {', '.join(map(repr, unknown))}",
                            where=where, fix=f"its options are: {', '.join(accepted)}")
    return cls(**fixed, **options)


def build_backbone(cfg, in_channels=3):
    options = dict(cfg)
    name = options.pop("name", None)
    if name == "MobileNetV3":
        return _construct(MobileNetV3, "model.backbone", {"in_channels": in_channels}, options)
    elif name == "ResNet":
        return _construct(ResNet, "model.backbone", {"in_channels": in_channels}, options)
    raise PipelineError(f"unknown backbone name {name!r}", where="model.backbone.name",
                        fix=f"use one of: {', '.join(BACKBONES)}")


def build_recognizer(model_cfg, num_classes):
    """Builds a Recognizer from the ``model`` dict and the CTC class count (blank included)."""
    if not isinstance(model_cfg, dict):
        raise PipelineError(f"the model config must be a mapping, got {model_cfg!r}", where="model")
    unknown = sorted(set(model_cfg) - set(_SECTIONS))
    if unknown:
        raise PipelineError(f"unknown model section(s) {', '.join(map(repr, unknown))}",
                            where="model", fix=f"the sections are: {', '.join(_SECTIONS)}")
    if model_cfg.get("transform") is not None:
        raise PipelineError("no image transform (e.g. TPS) is implemented",
                            where="model.transform", fix="leave it out or set it to null")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise PipelineError(f"a CTC head needs at least 2 classes (blank + 1), got {num_classes!r}",
                            where="the character dictionary", fix="check the dictionary file")

    backbone = build_backbone(_section(model_cfg, "backbone", required=True))
    neck = _construct(SequenceEncoder, "model.neck", {"in_channels": backbone.out_channels},
                      _section(model_cfg, "neck"))
    head = _construct(CTCHead, "model.head",
                      {"in_channels": neck.out_channels, "num_classes": num_classes},
                      _section(model_cfg, "head"))
    return Recognizer(backbone, neck, head)
