"""Everything one training run needs, read from params.yaml's `data` and `train_<model>` sections,
and the fingerprint that decides whether a checkpoint belongs to this run."""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from linerec import params as params_lib
from linerec.errors import PipelineError
from linerec.training.retention import Retention

SPLIT_DIR = Path("data/split")
AUTO = "auto"
# The trainer's own code that changes what a run produces (its logging and evaluation do not).
TRAINER_MODULES = ("linerec.training.trainer", "linerec.training.retention",
                   "linerec.training.schedule",
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
    retention: Retention = field(default_factory=Retention)
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
        retention = self.retention
        # The guard decides which checkpoint becomes best/, so it is part of what a run makes.
        settings["retention"] = [retention.replay_per_batch, retention.replay_labels,
                                 retention.distill_weight,
                                 list(retention.interpolate), retention.guard_max_drop]
        digest.update(json.dumps(settings, sort_keys=True).encode())
        for key, folder in (("replay.dir", retention.replay_dir if retention.replays else ""),
                            ("guard.dir", retention.guard_dir)):
            if folder:
                digest.update(json.dumps(folder_samples(folder, key), ensure_ascii=False).encode())
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


def folder_samples(folder, key):
    """[(image path, label)] of a crop folder, the value of params key ``key`` (replay.dir or
    guard.dir)."""
    from linerec.data.crop_folder import read_crop_folder

    if not Path(folder).is_dir():
        raise PipelineError("folder not found", where=f"params.yaml: {key}: {folder}",
                            fix="run the general stage (dvc repro general), which renders "
                                f"data/general, or point {key} at a folder of your own crops")
    return [(str(path), label) for path, label in read_crop_folder(folder).samples]


def retention_from_params(params, train):
    """``train_<m>.retain`` (absent: none) with the project's ``replay`` and ``guard`` folders."""
    retain = train.sub("retain", optional=True)
    guard = params.section("guard", optional=True)
    replay = params.section("replay", optional=True)
    interpolate = retain.get("interpolate", list, default=[])
    if not all(isinstance(a, (int, float)) and not isinstance(a, bool) and 0 <= a <= 1
               for a in interpolate):
        raise PipelineError(f"expected a list of numbers from 0 to 1, got {interpolate!r}",
                            where=f"{params.path}: {train.name}.retain.interpolate",
                            fix="e.g. [0.25, 0.5, 0.75, 1.0], or [] for none")
    retention = Retention(
        replay_per_batch=retain.get("replay_per_batch", int, default=0, minimum=0),
        replay_labels=retain.get("replay_labels", bool, default=False),
        distill_weight=retain.get("distill_weight", float, default=0.0, minimum=0.0),
        interpolate=tuple(float(a) for a in interpolate),
        replay_dir=replay.get("dir", str, default=""),
        guard_dir=guard.get("dir", str, default=""),
        guard_max_drop=guard.get("max_drop", float, default=None, minimum=0.0),
    )
    if retention.replays and not retention.replay_dir:
        raise PipelineError("replay_per_batch needs a replay folder",
                            where=f"{params.path}: replay.dir",
                            fix="set replay.dir (data/general/replay is rendered by the general "
                                "stage), or set replay_per_batch to 0")
    if retention.replays and not retention.replay_labels and not retention.distill_weight:
        raise PipelineError("replay lines without their labels only serve distillation",
                            where=f"{params.path}: {train.name}.retain.distill_weight",
                            fix="set distill_weight above 0, or replay_labels to true")
    if retention.distill_weight > 0 and not retention.replays:
        raise PipelineError("distillation reads the replay lines, and there are none",
                            where=f"{params.path}: {train.name}.retain.distill_weight",
                            fix="set retain.replay_per_batch above 0, or distill_weight to 0")
    return retention


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
        retention=retention_from_params(params, train),
    )
