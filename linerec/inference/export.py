"""Saves a trained recogniser as a Paddle inference model in the format the competition counts
(inference.pdmodel + inference.pdiparams), beside the dictionary and preprocessing settings.

Paddle 3 writes its new program format (inference.json) unless FLAGS_enable_pir_api=0 is in the
environment before paddle is first imported: the export stage asks for that through
``linerec.runtime.configure_stage(legacy_programs=True)``.
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import paddle

from linerec.errors import PipelineError
from linerec.inference.engines import ONNX_FILE
from linerec.inference.onnx_file import convert_in_child
from linerec.inference.predictor import CONFIG_FILE, DICT_FILE, MODEL_FILE, PARAMS_FILE
from linerec.inference.weight_storage import round_weights_as_stored, store_weights_compactly
from linerec.runtime import require_legacy_programs

MB = 1_000_000  # the competition's "10 MB": the stricter, decimal reading
# export.weights: how .pdiparams stores the large weights (weight_storage.py).
STORAGES = ("float32", "int16", "float16", "int8")


def _give_rnn_dropout_state_a_value(model):
    # nn.LSTM keeps an uninitialised `_dropout_state` buffer that the legacy program saver
    # cannot place ("Unknown place type"); it is unused at inference, so any value will do.
    for layer in model.sublayers(include_self=True):
        state = getattr(layer, "_dropout_state", None)
        if state is not None and not state._is_initialized():
            layer._dropout_state = paddle.zeros([1], dtype=state.dtype)


def save_program(model, image_shape, out_dir):
    """Traces the eval-mode model with a free batch size and width and saves it as
    out_dir/inference.*, in the program format Paddle is in (legacy: .pdmodel; PIR: .json).
    Returns (probe, reference): a fixed input and the model's output for it, computed before
    conversion (the converted layer cannot be re-run)."""
    channels, height, width = image_shape
    model.eval()
    probe = np.random.default_rng(0).uniform(-1, 1, (2, channels, height, width)).astype("float32")
    reference = model(paddle.to_tensor(probe)).numpy()
    _give_rnn_dropout_state_a_value(model)
    spec = [paddle.static.InputSpec([None, channels, height, None], "float32", name="x")]
    static = paddle.jit.to_static(model, input_spec=spec, full_graph=True)
    paddle.jit.save(static, str(Path(out_dir) / "inference"))
    return probe, reference


def export_inference_model(model, image_shape, out_dir, weight_storage="float32",
                           onnx_dict=None):
    """Writes out_dir/inference.{pdmodel,pdiparams}, its large weights stored as
    ``weight_storage`` (see weight_storage.py); returns save_program's (probe, reference).

    With ``onnx_dict`` (the dictionary file), also out_dir/inference.onnx for the onnxruntime
    and openvino engines: converted from the float32 program with its weights rounded as
    ``weight_storage`` stores them, so that it computes what the stored program computes
    (paddle2onnx cannot read the compact storage itself), the dictionary in its metadata."""
    require_legacy_programs()
    probe, reference = save_program(model, image_shape, out_dir)
    out_dir = Path(out_dir)
    if not (out_dir / MODEL_FILE).exists():
        raise PipelineError("Paddle wrote no inference.pdmodel", where=str(out_dir),
                            fix="use paddlepaddle 3.x with FLAGS_enable_pir_api=0")
    if onnx_dict is not None:
        with tempfile.TemporaryDirectory(prefix="linerec-onnx-") as tmp:
            for name in (MODEL_FILE, PARAMS_FILE):
                shutil.copyfile(out_dir / name, Path(tmp) / name)
            if weight_storage != "float32":
                round_weights_as_stored(tmp, weight_storage)
            convert_in_child(tmp, out_dir / ONNX_FILE, onnx_dict)
    if weight_storage != "float32":
        store_weights_compactly(out_dir, weight_storage)
    return probe, reference


def write_export_config(out_dir, model_info, dict_path):
    shutil.copyfile(dict_path, Path(out_dir) / DICT_FILE)
    algorithm = model_info.get("algorithm", "CRNN")
    config = {
        "algorithm": algorithm,
        "model": model_info["name"],
        "architecture": model_info["description"],
        "image_shape": model_info["image_shape"],
        "use_space_char": model_info["use_space_char"],
        "max_text_length": model_info["max_text_length"],
        "dict": DICT_FILE,
        # The same settings as command-line flags of paddleocr's tools/infer/predict_rec.py:
        "paddleocr_args": {
            "rec_algorithm": algorithm,
            "rec_image_shape": ",".join(str(v) for v in model_info["image_shape"]),
            "rec_char_dict_path": DICT_FILE,
            "use_space_char": model_info["use_space_char"],
        },
    }
    (Path(out_dir) / CONFIG_FILE).write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")


def competition_size(out_dir):
    """The bytes the competition counts: the program plus its parameters."""
    return sum((Path(out_dir) / name).stat().st_size for name in (MODEL_FILE, PARAMS_FILE))


def check_size(size_bytes, limit_mb, model_name, model_names):
    if size_bytes > limit_mb * MB:
        others = ", ".join(name for name in model_names if name != model_name)
        raise PipelineError(
            f"the exported {model_name} model is {size_bytes / MB:.2f} MB "
            f"(inference.pdmodel + inference.pdiparams), over the {limit_mb:g} MB limit",
            where="params.yaml: export.max_size_mb",
            fix=f"store the weights in 16 bits (export.weights: int16), shrink the head "
                "(train_<model>.model.head: common or labels for the pretrained models, a "
                f"smaller dictionary for a CRNN), or export another model ({others}); raise "
                "export.max_size_mb only if your competition allows it")
