"""Starting a model from a ``.pdparams`` file (e.g. PaddleOCR's published recognisers).

Every tensor whose name and shape match is copied; the rest is skipped and reported, so that a
checkpoint with another dictionary (a head of another size) still gives its backbone and neck.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import paddle

from linerec.errors import PipelineError

log = logging.getLogger(__name__)

_SHOWN = 8  # names listed per category in the summary


@dataclass
class LoadReport:
    """What ``load_pretrained`` did: names loaded, skipped for shape, missing and unexpected."""

    path: str
    loaded: list = field(default_factory=list)
    # (name, shape in the file, shape in the model)
    skipped_shape: list = field(default_factory=list)
    # in the model, not in the file (left as initialised)
    missing: list = field(default_factory=list)
    # in the file, not in the model (ignored)
    unexpected: list = field(default_factory=list)

    def to_dict(self):
        return {"path": self.path, "loaded": list(self.loaded),
                "skipped_shape": [{"name": n, "file_shape": list(f), "model_shape": list(m)}
                                  for n, f, m in self.skipped_shape],
                "missing": list(self.missing), "unexpected": list(self.unexpected)}

    def __str__(self):
        lines = [f"pretrained weights {self.path}: loaded {len(self.loaded)} tensors, "
                 f"skipped {len(self.skipped_shape)} for shape, {len(self.missing)} missing "
                 f"from the file, {len(self.unexpected)} in the file not in the model"]
        for name, file_shape, model_shape in self.skipped_shape[:_SHOWN]:
            lines.append(f"  skipped {name}: file {list(file_shape)} vs model {list(model_shape)}")
        for title, names in (("missing", self.missing), ("unexpected", self.unexpected)):
            if names:
                shown = ", ".join(names[:_SHOWN])
                more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
                lines.append(f"  {title}: {shown}{more}")
        return "\n".join(lines)


def _resolve(path):
    path = Path(path)
    if path.is_file():
        return path
    # PaddleOCR configs name checkpoints without the extension ("…/best_accuracy").
    with_suffix = path.with_name(path.name + ".pdparams")
    if path.suffix != ".pdparams" and with_suffix.is_file():
        return with_suffix
    raise PipelineError(
        "pretrained weights file not found", where=str(path),
        fix="download and unpack the model (e.g. PaddleOCR's ch_ppocr_mobile_v2.0_rec_pre.tar "
            "gives ch_ppocr_mobile_v2.0_rec_pre/best_accuracy.pdparams) and set pretrained_model "
            "to that .pdparams path, or to \"\" to train from scratch")


def _as_array(value):
    if isinstance(value, paddle.Tensor):
        return value.numpy()
    return np.asarray(value)


def _alias_groups(state):
    """Groups state-dict names that are the same tensor (paddle's LSTM lists each weight twice:
    ``lstm.weight_ih_l0`` and ``lstm.0.cell_fw.weight_ih``)."""
    groups = {}
    for name, tensor in state.items():
        groups.setdefault(getattr(tensor, "name", None) or name, []).append(name)
    return {name: group for group in groups.values() for name in group}


def load_pretrained(model, path):
    """Copies into ``model`` every tensor of the ``.pdparams`` at ``path`` whose name and shape
    match, and returns a LoadReport (also logged). Raises PipelineError when the file is missing,
    unreadable, or shares no tensor with the model."""
    resolved = _resolve(path)
    try:
        checkpoint = paddle.load(str(resolved))
    except Exception as error:  # a truncated download, an inference model, a pickle of something else
        raise PipelineError(f"cannot read pretrained weights: {type(error).__name__}: {error}",
                            where=str(resolved),
                            fix="point pretrained_model at a training checkpoint's .pdparams "
                                "(not an inference model's .pdiparams); re-download it if truncated")
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise PipelineError("the file holds no state dict (name -> tensor)", where=str(resolved),
                            fix="point pretrained_model at a .pdparams saved from a model's state_dict()")

    state = model.state_dict()
    aliases = _alias_groups(state)
    report = LoadReport(path=str(resolved))
    done = set()  # names whose tensor (or an alias of it) received a value
    for name, target in state.items():
        if name not in checkpoint:
            continue
        value = _as_array(checkpoint[name])
        if tuple(value.shape) != tuple(target.shape):
            report.skipped_shape.append((name, tuple(value.shape), tuple(target.shape)))
            continue
        target.set_value(paddle.to_tensor(value).astype(target.dtype))
        report.loaded.append(name)
        done.update(aliases[name])
    skipped = {name for name, _, _ in report.skipped_shape}
    report.missing = [name for name in state if name not in checkpoint and name not in done
                      and not any(alias in skipped for alias in aliases[name])]
    report.unexpected = [name for name in checkpoint if name not in state]

    if not report.loaded:
        raise PipelineError(
            f"none of the file's {len(checkpoint)} tensors matches the model by name and shape "
            f"(e.g. file key {next(iter(checkpoint))!r}, model key {next(iter(state))!r})",
            where=str(resolved),
            fix="use a recognition checkpoint of the same architecture as the model "
                "(ch_ppocr_mobile_v2.0_rec_pre for MobileNetV3 small 0.5, "
                "ch_ppocr_server_v2.0_rec_pre for ResNet 34)")
    log.info("%s", report)
    return report
