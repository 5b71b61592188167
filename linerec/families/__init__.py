"""Model families: each kind of recogniser as one object that the trainer, evaluate and export
talk to. ``model.name`` in a train section picks one; a section without a name is a CRNN."""

from linerec.errors import PipelineError

FAMILY_NAMES = ("CRNN", "PPOCRv4", "PPOCRv6")


def family_for(model_cfg, image_shape, use_space_char=True, pretrained_model="", where="model"):
    if not isinstance(model_cfg, dict):
        raise PipelineError(f"the model section must be a mapping, got {model_cfg!r}", where=where)
    name = model_cfg.get("name", "CRNN")
    if name == "CRNN":
        from linerec.families.crnn import CRNN

        return CRNN(model_cfg, image_shape, use_space_char, pretrained_model)
    if pretrained_model:
        raise PipelineError(f"{name} starts from its own shipped weights",
                            where=f"{where}: pretrained_model", fix='leave it ""')
    if name == "PPOCRv4":
        from linerec.families.ppocrv4 import PPOCRv4

        return PPOCRv4(model_cfg, image_shape, use_space_char, where)
    if name == "PPOCRv6":
        from linerec.families.ppocrv6 import PPOCRv6

        return PPOCRv6(model_cfg, image_shape, use_space_char, where)
    raise PipelineError(f"unknown model name {name!r}", where=f"{where}.name",
                        fix=f"use one of: {', '.join(FAMILY_NAMES)}")


def family_from_description(description):
    """The family a model.json describes (see ModelFamily.describe)."""
    return family_for(dict(description["options"], name=description["family"]),
                      description["image_shape"], description["use_space_char"],
                      description.get("pretrained_model", ""))
