"""Rewriting the CTC classification head of a saved inference program.

A CTC program ends ``matmul(features, W) + b → softmax`` with one column of W per class. Keeping
a subset of the columns gives a model over fewer classes whose probabilities are the original
ones renormalised over that subset: wherever the original's most likely class at a time step is
kept, it stays the most likely, so a line whose greedy decoding used only kept classes decodes
identically. Classes the source does not know get new columns (zero weights, the lowest bias of
the source), for fine-tuning to learn.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle

from linerec.errors import PipelineError
from linerec.modeling.program_recognizer import (MODEL_FILE, PARAMS_FILE, require_legacy_programs,
                                                 require_program)


@dataclass
class HeadRewrite:
    source_classes: int
    classes: int
    kept: int
    added: int
    size_bytes: int

    def __str__(self):
        return (f"CTC head {self.source_classes} → {self.classes} classes "
                f"({self.kept} kept, {self.added} new), {self.size_bytes / 1e6:.2f} MB")


def _producer(ops, var_name, op_type):
    for op in ops:
        if op.type == op_type and var_name in op.output_arg_names:
            return op
    return None


def _find_ctc_head(block, fetch_name, where):
    softmax = _producer(block.ops, fetch_name, "softmax")
    add = softmax and _producer(block.ops, softmax.input("X")[0], "elementwise_add")
    matmul = add and _producer(block.ops, add.input("X")[0], "matmul_v2")
    if matmul is None:
        raise PipelineError("the program does not end in matmul + add + softmax (a CTC head)",
                            where=where, fix="use a PaddleOCR CTC recogniser (CRNN, SVTR_LCNet)")
    return matmul, add, softmax


def rewrite_ctc_head(source_dir, target_dir, source_classes, classes, freeze_bn_stats=True):
    """Writes target_dir/inference.{pdmodel,pdiparams}: the source program with one head column
    per entry of ``classes``, taken from ``source_classes`` by name (index 0, the CTC blank,
    must stay first in both). An exported program's batch norm uses its stored statistics even
    in training mode (PaddleOCR sets use_global_stats); ``freeze_bn_stats=False`` makes it
    normalise by batch and update them instead. Returns a HeadRewrite."""
    require_legacy_programs()
    require_program(source_dir)
    if classes[0] != source_classes[0]:
        raise ValueError("the CTC blank must stay at index 0")
    source_index = {name: i for i, name in enumerate(source_classes)}
    columns = [source_index.get(name, -1) for name in classes]

    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    paddle.enable_static()
    try:
        scope = paddle.static.Scope()
        with paddle.static.scope_guard(scope):
            executor = paddle.static.Executor(paddle.CPUPlace())
            program, _, fetches = paddle.static.load_inference_model(
                str(Path(source_dir) / "inference"), executor)
            block = program.global_block()
            matmul, add, softmax = _find_ctc_head(block, fetches[0].name, str(source_dir))
            weight_name, bias_name = matmul.input("Y")[0], add.input("Y")[0]
            weight = np.array(scope.find_var(weight_name).get_tensor())
            bias = np.array(scope.find_var(bias_name).get_tensor())
            if weight.shape[1] != len(source_classes):
                raise PipelineError(
                    f"the head has {weight.shape[1]} classes, the dictionary gives "
                    f"{len(source_classes)}", where=str(source_dir),
                    fix="pair the program with the dictionary it was trained with")

            known = np.array([c for c in columns if c >= 0])
            new_weight = np.zeros((weight.shape[0], len(classes)), dtype=weight.dtype)
            new_bias = np.full(len(classes), bias.min(), dtype=bias.dtype)
            is_known = np.array(columns) >= 0
            new_weight[:, is_known] = weight[:, known]
            new_bias[is_known] = bias[known]
            scope.find_var(weight_name).get_tensor().set(new_weight, paddle.CPUPlace())
            scope.find_var(bias_name).get_tensor().set(new_bias, paddle.CPUPlace())
            for name in (weight_name, bias_name, matmul.output("Out")[0], add.output("Out")[0],
                         softmax.output("Out")[0]):
                shape = list(block.var(name).shape)
                shape[-1] = len(classes)
                block.var(name).desc.set_shape(shape)
            for op in block.ops:
                if op.type == "batch_norm":
                    op._set_attr("use_global_stats", bool(freeze_bn_stats))

            # Written as loaded rather than through save_inference_model, whose pruning drops
            # the XShape outputs that paddle.jit.load needs to build the backward program.
            (target_dir / MODEL_FILE).write_bytes(program.desc.serialize_to_string())
            persistables = [v for v in program.list_vars()
                            if v.persistable and v.name not in ("feed", "fetch")]
            paddle.static.save_vars(executor, str(target_dir), main_program=program,
                                    vars=persistables, filename=PARAMS_FILE)
    finally:
        paddle.disable_static()
    size = sum((target_dir / name).stat().st_size for name in (MODEL_FILE, PARAMS_FILE))
    return HeadRewrite(source_classes=len(source_classes), classes=len(classes),
                       kept=int(is_known.sum()), added=int((~is_known).sum()), size_bytes=size)
