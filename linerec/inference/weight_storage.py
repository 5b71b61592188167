"""Stores an exported inference model's large weights in 16 (or 8) bits, turned back into
float32 by ops at the start of the program.

The competition counts the bytes of inference.pdmodel + inference.pdiparams. Paddle 3.3 has no
CPU kernels for float16 convolutions or matmuls, but a program may *store* a weight compactly
and rebuild the float32 tensor its ops read with one or two ops that depend only on persistables.
Paddle Inference's ``constant_folding_pass`` runs those once, when the predictor is built, and
keeps the float32 result as a persistable, so the later fuse passes (conv + batch norm, conv +
bias + activation, ...) still apply and inference runs at float32 speed. With IR optimisation
off the rebuilding ops run with every batch: correct, and cheap next to the convolutions.

Storages (``storage=``):

- ``"int16"`` (default): w = q * s, q int16, s = max|w| / 32767 per output channel where the
  reading op says which axis that is (conv filters, matmul/mul Y, the rnn op's weights), else
  for the whole tensor; one ``cast`` and one ``elementwise_mul`` (or ``scale``) op. Half the
  bytes of float32 (plus 4 bytes per output channel), and an error (<= channel max / 65534)
  that for PP-OCRv4 moves the probabilities 5x less than float16 does (max 8.9e-4 vs 4.3e-3).
- ``"float16"``: the weight itself in float16, one ``cast`` op. Same size, but Paddle Inference
  treats any program with a float16 persistable as a "mixed precision model" and on CPU then
  runs *no* IR pass at all (analysis_predictor.cc, PrepareArgument: ClearPasses when
  model_precision != FP32 and not GPU/XPU): no conv + batch-norm fusion, no oneDNN fusions,
  about 3x slower for the mobile CRNN. Kept for comparison; do not ship it.
- ``"int8"``: the same with q int8 (s = max|w| / 127): a quarter of the bytes, 256x the
  error of int16. On PP-OCRv4, whose weights have outliers (max/std up to 170), it flips some
  frames (max probability difference 1.0); check the accuracy before shipping it.

This rewrites a saved legacy program (``.pdmodel`` + ``.pdiparams``) rather than the dygraph
layer: the rewrite then sees every weight whatever op reads it (conv2d, matmul_v2, the ``rnn``
op's flat WeightList of an ``nn.LSTM``, the ops of a loaded PP-OCRv4 program), and does not
depend on how ``paddle.jit.to_static`` traces a layer. Use it on the folder that
``export_inference_model`` wrote::

    export_inference_model(model, image_shape, out_dir)
    store_weights_compactly(out_dir)   # what export_inference_model(..., weight_storage) does

Which weights are rewritten (``compact_candidates``): float32 persistables that no op writes,
with at least ``min_elements`` values (default 1,024 = 4 KB), that are not an input of a
normalisation op, and (float16 only) whose values all fit in float16 (|x| <= 65,504). Why:

- normalisation statistics and affines (batch_norm Mean/Variance/Scale/Bias, layer_norm, ...)
  stay float32: a running variance can be far below a 16-bit format's resolution (the error then
  grows without bound in 1/sqrt(var + eps)), and conv_bn_fuse_pass, which first runs before
  constant folding, needs them persistable to fold batch norm into the convolutions;
- small tensors (biases, squeeze-excite and small depthwise kernels) stay float32: together they
  are a few percent of the bytes, so halving them buys almost nothing for the extra ops;
- the rule reads the program, not layer types, so it holds for any exported model.
"""

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from linerec.errors import PipelineError

MODEL_FILE = "inference.pdmodel"
PARAMS_FILE = "inference.pdiparams"
# jit.save's side file of parameter attributes for paddle.jit.load; after the rewrite it would
# name float32 parameters that are no longer stored, so it is removed.
PARAMS_INFO_FILE = "inference.pdiparams.info"
STORAGES = ("int16", "float16", "int8")
MIN_ELEMENTS = 1024
FP16_MAX = float(np.finfo(np.float16).max)
# Ops whose float inputs stay float32 (statistics, scales and shifts of a normalisation).
NORM_OPS = frozenset({
    "batch_norm", "sync_batch_norm", "fused_batch_norm_act", "fused_bn_add_activation",
    "layer_norm", "instance_norm", "group_norm", "affine_channel", "data_norm", "rms_norm",
})
_QMAX = {"int16": 32767, "int8": 127}
# The float32 per-channel scales this module adds (never rewritten themselves).
_SCALE_SUFFIXES = tuple(f".{storage}.scale" for storage in _QMAX)


def _legacy_static():
    """Static mode with the legacy program IR, whatever mode the process is in; restored after
    (OldIrGuard also switches dygraph to static and back)."""
    from paddle.pir_utils import OldIrGuard

    return OldIrGuard()


def _readers_writers(program):
    readers, written = {}, set()
    for block in program.blocks:
        for op in block.ops:
            written.update(op.output_arg_names)
            for slot in op.input_names:
                for name in op.input(slot):
                    readers.setdefault(name, []).append((op, slot))
    return readers, written


def _output_channel_axis(readers, ndim):
    """The axis of a weight that indexes its reader's output channels, if every reader agrees."""
    axes = set()
    for op, slot in readers:
        if op.type in ("conv2d", "depthwise_conv2d", "conv3d", "fused_conv2d") and slot == "Filter":
            axes.add(0)
        elif op.type in ("conv2d_transpose", "depthwise_conv2d_transpose") and slot == "Filter":
            axes.add(1)
        elif op.type == "matmul_v2" and slot == "Y":
            axes.add(ndim - 2 if op.attr("trans_y") else ndim - 1)
        elif op.type == "matmul" and slot == "Y":
            axes.add(ndim - 2 if op.attr("transpose_Y") else ndim - 1)
        elif op.type == "mul" and slot == "Y" and ndim == 2:
            axes.add(1)
        elif op.type == "rnn" and slot == "WeightList":
            axes.add(0)
        else:
            return None
    return axes.pop() if len(axes) == 1 else None


def compact_candidates(program, scope, min_elements=MIN_ELEMENTS, storage="int16"):
    """{name: float32 array} of the persistables of ``program`` (values in ``scope``) to store
    compactly, by the rule in this module's docstring."""
    from paddle.base import core

    readers, written = _readers_writers(program)
    chosen = {}
    for var in program.global_block().vars.values():
        if (not var.persistable or var.type != core.VarDesc.VarType.DENSE_TENSOR
                or var.dtype != core.VarDesc.VarType.FP32 or var.name in written
                or var.name.endswith(_SCALE_SUFFIXES)
                or any(op.type in NORM_OPS for op, _ in readers.get(var.name, []))):
            continue
        found = scope.find_var(var.name)
        if found is None:
            continue
        value = np.array(found.get_tensor())
        if value.size < min_elements or not np.all(np.isfinite(value)):
            continue
        if storage == "float16" and not np.all(np.abs(value) <= FP16_MAX):
            continue
        chosen[var.name] = value
    return chosen


def _quantize(value, storage, axis):
    """(q, scale): value ~ q * scale; scale a float, or an array shaped to broadcast on value."""
    qmax = _QMAX[storage]
    if axis is None:
        peak = float(np.abs(value).max())
    else:
        other = tuple(a for a in range(value.ndim) if a != axis)
        peak = np.abs(value).max(axis=other, keepdims=True).astype(np.float32)
    scale = np.where(peak > 0, peak / qmax, 1.0).astype(np.float32)
    q = np.clip(np.rint(value / scale), -qmax, qmax).astype(storage)
    return q, (float(scale) if axis is None else scale)


def store_weights_compactly(model_dir, storage="int16", min_elements=MIN_ELEMENTS):
    """Rewrites model_dir/inference.{pdmodel,pdiparams} in place so that the weights chosen by
    ``compact_candidates`` are stored in ``storage`` (see the module docstring) and rebuilt as
    float32 at the start of the program.

    Returns {"storage", "converted": [names], "params_bytes_before", "params_bytes_after"}.
    Calling it again on a rewritten model converts nothing more. Works from dygraph or static
    mode, with or without PIR (it restores the mode).
    """
    from paddle.base import core

    model_dir = Path(model_dir)
    for name in (MODEL_FILE, PARAMS_FILE):
        if not (model_dir / name).exists():
            raise PipelineError("inference model file missing", where=str(model_dir / name),
                                fix="export the model first (export_inference_model)")
    before = (model_dir / PARAMS_FILE).stat().st_size
    dtypes = {"int16": core.VarDesc.VarType.INT16, "float16": core.VarDesc.VarType.FP16,
              "int8": core.VarDesc.VarType.INT8}
    with _rewritten(model_dir, storage, min_elements) as (scope, place, program, chosen):
        readers, _ = _readers_writers(program)
        block = program.global_block()
        # Inserted at the top in reverse name order, so they run in name order; sorted, so the
        # program (and so the file) is the same from one run to the next.
        for name in sorted(chosen, reverse=True):
            var, value = block.var(name), chosen[name]
            stored = block.create_var(name=f"{name}.{storage}", shape=var.shape,
                                      dtype=dtypes[storage], persistable=True)
            var.desc.set_persistable(False)
            var.persistable = False
            if storage == "float16":
                block._insert_op(0, type="cast", inputs={"X": [stored]}, outputs={"Out": [var]},
                                 attrs={"in_dtype": stored.dtype, "out_dtype": var.dtype})
                scope.var(stored.name).get_tensor().set(value.astype(np.float16), place)
                continue
            axis = _output_channel_axis(readers.get(name, []), value.ndim)
            q, scale = _quantize(value, storage, axis)
            scope.var(stored.name).get_tensor().set(q, place)
            widened = block.create_var(name=f"{name}.{storage}.float", shape=var.shape,
                                       dtype=var.dtype, persistable=False)
            if axis is None:
                rescale = dict(type="scale", inputs={"X": [widened]}, outputs={"Out": [var]},
                               attrs={"scale": scale, "bias": 0.0, "bias_after_scale": True})
            else:
                scales = block.create_var(name=f"{name}.{storage}.scale", shape=scale.shape,
                                          dtype=var.dtype, persistable=True)
                scope.var(scales.name).get_tensor().set(scale, place)
                rescale = dict(type="elementwise_mul", inputs={"X": [widened], "Y": [scales]},
                               outputs={"Out": [var]}, attrs={"axis": -1})
            block._insert_op(0, **rescale)
            block._insert_op(0, type="cast", inputs={"X": [stored]}, outputs={"Out": [widened]},
                             attrs={"in_dtype": stored.dtype, "out_dtype": var.dtype})
    if chosen:
        # Stale now. Nothing in this project reloads an export as a layer: Paddle Inference and
        # paddleocr read the program without it. (paddle.jit.load may not reload a rewritten
        # program at all: saving clips ops' "extra" outputs such as XShape, which its backward
        # needs. Keeping them, clip_extra=False, would cost ~150 KB of .pdmodel for PP-OCRv4.)
        (model_dir / PARAMS_INFO_FILE).unlink(missing_ok=True)
    return {"storage": storage, "converted": sorted(chosen), "params_bytes_before": before,
            "params_bytes_after": (model_dir / PARAMS_FILE).stat().st_size}


def stored_values(model_dir):
    """{persistable name: numpy array, in its stored dtype} of model_dir's .pdiparams."""
    import paddle
    from paddle.base import core

    scope = paddle.static.Scope()
    with _legacy_static(), paddle.static.scope_guard(scope):
        executor = paddle.static.Executor(paddle.CPUPlace())
        program, _, _ = paddle.static.load_inference_model(str(Path(model_dir) / "inference"),
                                                           executor)
        return {var.name: np.array(scope.find_var(var.name).get_tensor())
                for var in program.list_vars()
                if var.persistable and var.type == core.VarDesc.VarType.DENSE_TENSOR}


def round_weights_as_stored(model_dir, storage="int16", min_elements=MIN_ELEMENTS):
    """Rewrites a float32 model_dir/inference.{pdmodel,pdiparams} in place so that each weight
    ``store_weights_compactly`` would store in ``storage`` holds, still as float32, exactly the
    value the stored program rebuilds (q * scale, or the float16 value). The program is
    unchanged. A converter that cannot read compact storage (paddle2onnx) then makes a file that
    computes what the compact export computes, not what the unrounded weights would."""
    with _rewritten(Path(model_dir), storage, min_elements) as (scope, place, program, chosen):
        readers, _ = _readers_writers(program)
        for name, value in chosen.items():
            if storage == "float16":
                rounded = value.astype(np.float16).astype(np.float32)
            else:
                q, scale = _quantize(value, storage, _output_channel_axis(readers.get(name, []),
                                                                          value.ndim))
                # float32 arithmetic, as the program's cast + elementwise_mul (or scale) does.
                rounded = q.astype(np.float32) * np.asarray(scale, dtype=np.float32)
            scope.find_var(name).get_tensor().set(rounded.astype(np.float32), place)
    return sorted(chosen)


@contextlib.contextmanager
def _rewritten(model_dir, storage, min_elements):
    """Loads model_dir's program and yields (scope, place, program, the weights
    ``compact_candidates`` picks) for the caller to change; then, if any was picked, saves the
    program and its scope over model_dir/inference.* (beside it first, then moved over it, so
    a failure leaves the original)."""
    import paddle

    if storage not in STORAGES:
        raise PipelineError(f"unknown weight storage {storage!r}",
                            fix=f"use one of: {', '.join(STORAGES)}")
    scope = paddle.static.Scope()
    place = paddle.CPUPlace()
    with _legacy_static(), paddle.static.scope_guard(scope):
        executor = paddle.static.Executor(place)
        program, feed_names, fetch_vars = paddle.static.load_inference_model(
            str(model_dir / "inference"), executor)
        chosen = compact_candidates(program, scope, min_elements, storage)
        yield scope, place, program, chosen
        if chosen:
            block = program.global_block()
            with tempfile.TemporaryDirectory(dir=model_dir, prefix=".rewrite-") as staging:
                paddle.static.save_inference_model(
                    os.path.join(staging, "inference"), [block.var(n) for n in feed_names],
                    fetch_vars, executor, program=program)
                for name in (MODEL_FILE, PARAMS_FILE):
                    os.replace(os.path.join(staging, name), model_dir / name)
