"""Everything one training run needs, read from params.yaml's `data` and `train_<model>` sections,
and the fingerprint that decides whether a checkpoint belongs to this run."""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from linerec import params as params_lib
from linerec.errors import PipelineError

SPLIT_DIR = Path("data/split")
AUTO = "auto"
# The trainer's own code that changes what a run produces (its logging and evaluation do not).
TRAINER_MODULES = ("linerec.training.trainer", "linerec.training.schedule",
                   "linerec.training.sampler", "linerec.training.checkpoint",
                   "linerec.data.dataset", "linerec.charset",
                   "linerec.modeling.losses.rec_ctc_loss")
# Params that change the arithmetic of a run. Left out on purpose: num_workers (augmentation is
# seeded per line, so workers do not change it), log_every_steps, eval_every_steps and
# eval_batch_size: changing those must not throw a run away.
RESULT_FIELDS = ("image_shape", "max_text_length", "use_space_char", "epochs", "max_steps",
                 "batch_size", "lr", "warmup_epochs", "l2", "augment", "seed", "amp",
                 "grad_clip")


@dataclass
class TrainConfig:
    name: str
    model: dict
    image_shape: list
    max_text_length: int
    use_space_char: bool
    epochs: int
    batch_size: int
    lr: float
    warmup_epochs: float
    l2: float
    augment: bool
    eval_every_steps: int
    log_every_steps: int
    num_workers: object   # an int, or "auto": 0 on CPU, where a worker competes for the cores
    seed: int
    amp: object           # a bool, or "auto": mixed precision on a GPU, float32 on CPU
    max_steps: int = 0
    grad_clip: float = 0.0  # global gradient norm clipped to this; 0: no clipping
    eval_batch_size: int = 0
    pretrained_model: str = ""
    train_file: str = str(SPLIT_DIR / "train.txt")
    val_file: str = str(SPLIT_DIR / "val.txt")
    dict_file: str = str(SPLIT_DIR / "dict.txt")
    extra: dict = field(default_factory=dict)

    def family(self):
        from linerec.families import family_for

        return family_for(self.model, self.image_shape, self.use_space_char,
                          self.pretrained_model, where=f"params.yaml: train_{self.name}.model")

    def fingerprint(self, family=None):
        """Identifies what the run computes: the params that change its arithmetic, the family
        (architecture, options, starting weights and their code), the trainer's code and the
        bytes of the data. Two runs with the same fingerprint produce the same weights."""
        import importlib

        family = family or self.family()
        digest = hashlib.sha256()
        settings = {name: getattr(self, name) for name in RESULT_FIELDS}
        settings["family"] = family.describe()
        digest.update(json.dumps(settings, sort_keys=True).encode())
        code = {Path(importlib.import_module(name).__file__) for name in TRAINER_MODULES}
        for path in sorted(code | set(family.code_files())):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        for path in [self.train_file, self.val_file, self.dict_file, *family.weight_files()]:
            digest.update(Path(path).read_bytes())
        return digest.hexdigest()[:16]


def _auto_or(section, key, kind):
    """``auto`` (the default: the trainer picks by device) or a value of ``kind``."""
    if section.values.get(key, AUTO) == AUTO:
        return AUTO
    return section.get(key, kind, **({"minimum": 0} if kind is int else {}))


def from_params(name, params=None):
    params = params or params_lib.load()
    data = params.section("data")
    train = params.section(f"train_{name}")
    image_shape = train.get("image_shape", list)
    if len(image_shape) != 3 or not all(isinstance(v, int) and v > 0 for v in image_shape):
        raise PipelineError(f"expected [channels, height, width], got {image_shape!r}",
                            where=f"{params.path}: {train.name}.image_shape",
                            fix="e.g. [3, 32, 320]")
    return TrainConfig(
        name=name,
        model=train.get("model", dict),
        image_shape=image_shape,
        max_text_length=data.get("max_text_length", int, minimum=1),
        use_space_char=data.get("use_space_char", bool),
        epochs=train.get("epochs", int, minimum=1),
        batch_size=train.get("batch_size", int, minimum=1),
        lr=train.get("lr", float, minimum=0.0),
        warmup_epochs=train.get("warmup_epochs", float, minimum=0.0),
        l2=train.get("l2", float, minimum=0.0),
        augment=train.get("augment", bool),
        eval_every_steps=train.get("eval_every_steps", int, minimum=1),
        log_every_steps=train.get("log_every_steps", int, minimum=1),
        num_workers=_auto_or(train, "num_workers", int),
        seed=train.get("seed", int),
        amp=_auto_or(train, "amp", bool),
        max_steps=train.get("max_steps", int, default=0, minimum=0),
        grad_clip=train.get("grad_clip", float, default=0.0, minimum=0.0),
        eval_batch_size=train.get("eval_batch_size", int, default=0, minimum=0),
        pretrained_model=train.get("pretrained_model", str, default=""),
    )
