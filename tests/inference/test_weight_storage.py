"""Exported models whose large weights are stored in 16 (or 8) bits and rebuilt as float32 by the
program itself (linerec.inference.weight_storage).

The model is the mobile CRNN of params.yaml with PaddleOCR's full 6,625-class head (where the
bytes are), random but seeded. A random head gives every class ~1/6,625, which would make any
absolute tolerance on the probabilities vacuous, so its weights are multiplied by HEAD_GAIN:
the float32 model's top probability per frame is then ~0.6, as confident as a trained model.
"""

import shutil

import numpy as np
import paddle
import pytest
import yaml
from paddle import nn

from linerec.charset import ppocr_keys_path
from linerec.inference.export import export_inference_model, write_export_config
from linerec.inference.predictor import create_paddle_predictor
from linerec.inference.preprocess import resize_normalize
from linerec.inference.weight_storage import STORAGES, stored_values, store_weights_compactly
from linerec.modeling.recognizer import build_recognizer
from tests.conftest import ROOT, render_line

IMAGE_SHAPE = [3, 32, 320]
NUM_CLASSES = 6625  # ppocr_keys_v1's 6,623 characters, the CTC blank and the space
HEAD_GAIN = 200.0
TEXTS = ("12", "345", "67890", "中文识别", "hello world", "2024年")
# Largest probability difference from the float32 model, and smallest share of the
# N x T frames whose argmax may not move. float16 rounds each weight to 11 significant bits
# (relative error <= 2^-12); that moves PP-OCRv4's probabilities by up to 4.3e-3 (6.4e-3
# measured while planning), so 1e-2. int16 per channel is ~5x closer (PP-OCRv4: 8.9e-4; here
# ~5e-5), so 2e-3. int8 is 256x coarser than int16; its bound only says the rebuild is right
# (a wrong scale or channel axis gives differences of order 1 and scrambled argmaxes).
TOLERANCE = {"int16": (2e-3, 0.999), "float16": (1e-2, 0.99), "int8": (0.1, 0.95)}


def line_images():
    """BGR uint8 text lines, as TextRecognizer takes them."""
    return [np.asarray(render_line(text))[:, :, ::-1].copy() for text in TEXTS]


def normalised(images):
    return np.stack([resize_normalize(image, IMAGE_SHAPE, IMAGE_SHAPE[2] / IMAGE_SHAPE[1])
                     for image in images])


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """{storage: folder} (float32 included), and the float32 dygraph model's output."""
    root = tmp_path_factory.mktemp("weight_storage")
    model_cfg = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["train_mobile"]["model"]
    paddle.seed(0)
    # Parameter names (linear_0.w_0, ...) counted from 0, whatever other tests built before.
    with paddle.utils.unique_name.guard():
        model = build_recognizer(model_cfg, num_classes=NUM_CLASSES)
    with paddle.no_grad():
        model.head.fc.weight.set_value(model.head.fc.weight * HEAD_GAIN)
    model.eval()
    # Before export: the converted layer cannot be run again.
    reference = model(paddle.to_tensor(normalised(line_images()))).numpy()
    folders = {"float32": root / "float32"}
    export_inference_model(model, IMAGE_SHAPE, folders["float32"])
    write_export_config(folders["float32"], {
        "name": "mobile", "model": model_cfg, "description": "mobile CRNN, random weights",
        "image_shape": IMAGE_SHAPE, "use_space_char": True, "max_text_length": 25},
        ppocr_keys_path())
    for storage in STORAGES:
        folders[storage] = root / storage
        shutil.copytree(folders["float32"], folders[storage])
        result = store_weights_compactly(folders[storage], storage)
        assert result["converted"], storage
    return folders, reference


def params_bytes(folder):
    return (folder / "inference.pdiparams").stat().st_size


def run_predictor(folder, images, enable_mkldnn):
    predictor = create_paddle_predictor(folder, cpu_threads=1, enable_mkldnn=enable_mkldnn)
    feed = predictor.get_input_handle(predictor.get_input_names()[0])
    feed.reshape(images.shape)
    feed.copy_from_cpu(images)
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


def test_the_head_is_as_confident_as_a_trained_models(exports):
    _, reference = exports
    assert reference.shape[2] == NUM_CLASSES
    assert np.median(reference.max(axis=2)) > 0.3


@pytest.mark.parametrize("storage, most", [("int16", 0.55), ("float16", 0.55), ("int8", 0.3)])
def test_the_parameters_file_shrinks(exports, storage, most):
    folders, _ = exports
    ratio = params_bytes(folders[storage]) / params_bytes(folders["float32"])
    print(f"{storage}: .pdiparams {params_bytes(folders[storage]) / 1e6:.2f} MB, "
          f"{ratio:.3f} x float32's {params_bytes(folders['float32']) / 1e6:.2f} MB")
    assert ratio < most


@pytest.mark.parametrize("enable_mkldnn", [False, True], ids=["plain", "mkldnn"])
@pytest.mark.parametrize("storage", STORAGES)
def test_paddle_inference_on_cpu_gives_the_float32_models_output(exports, storage, enable_mkldnn):
    folders, reference = exports
    output = run_predictor(folders[storage], normalised(line_images()), enable_mkldnn)
    most, agree = TOLERANCE[storage]
    difference = float(np.abs(output - reference).max())
    same_argmax = float((output.argmax(axis=2) == reference.argmax(axis=2)).mean())
    print(f"{storage}, mkldnn={enable_mkldnn}: max |dp| {difference:.2e}, argmax agrees on "
          f"{same_argmax:.4f} of {reference.shape[0] * reference.shape[1]} frames")
    assert difference < most
    assert same_argmax >= agree


@pytest.mark.parametrize("storage", STORAGES)
def test_batch_norm_and_small_tensors_stay_float32(exports, storage):
    folders, _ = exports
    values = stored_values(folders[storage])
    batch_norm = {name: value for name, value in values.items() if name.startswith("batch_norm")}
    # scale, bias, mean, variance of each of the backbone's batch norms
    assert len(batch_norm) >= 4 * 30
    assert {str(value.dtype) for value in batch_norm.values()} == {"float32"}
    assert all(value.dtype == np.float32 for value in values.values()
               if value.size < 1024 and value.dtype.kind == "f")
    # The head and the LSTM's weights are stored compactly, under a new name.
    assert "linear_0.w_0" not in values and "lstm_cell_0.w_0" not in values
    assert str(values[f"linear_0.w_0.{storage}"].dtype) == storage
    assert str(values[f"lstm_cell_0.w_0.{storage}"].dtype) == storage


def test_only_float16_storage_makes_paddle_inference_drop_its_optimisations(exports):
    # Paddle Inference calls a program with any float16 persistable a mixed-precision model
    # and on CPU then runs no IR pass (no conv + batch-norm fusion: ~3x slower); int16/int8
    # storage leaves it a float32 model, whose rebuild ops constant folding runs once.
    folders, _ = exports
    assert any(value.dtype == np.float16 for value in stored_values(folders["float16"]).values())
    for storage in ("int16", "int8"):
        assert not any(value.dtype == np.float16
                       for value in stored_values(folders[storage]).values())


@pytest.mark.parametrize("storage", ["int16", "float16"])
def test_paddleocr_text_recognizer_reads_the_compact_export(exports, storage):
    from linerec.inference.text_recognizer import paddleocr_recognizer

    folders, _ = exports
    theirs_fp32, _ = paddleocr_recognizer(folders["float32"], batch_size=6, threads=1)(line_images())
    theirs, _ = paddleocr_recognizer(folders[storage], batch_size=6, threads=1)(line_images())
    assert [text for text, _ in theirs] == [text for text, _ in theirs_fp32]
    assert [c for _, c in theirs] == pytest.approx([c for _, c in theirs_fp32], abs=1e-2)


def test_a_second_rewrite_changes_nothing_and_dygraph_mode_is_kept(exports, tmp_path):
    folders, _ = exports
    shutil.copytree(folders["int16"], tmp_path / "again")
    before = (tmp_path / "again" / "inference.pdiparams").read_bytes()
    assert store_weights_compactly(tmp_path / "again")["converted"] == []
    assert (tmp_path / "again" / "inference.pdiparams").read_bytes() == before
    assert paddle.in_dynamic_mode()


class TinyAttentionRecognizer(nn.Layer):
    """Conv + batch norm stem, one self-attention block (two activation x activation matmuls)
    with layer norm, and a linear head: the op mix of PP-OCRv4's SVTR neck."""

    def __init__(self, dim=64, num_classes=500):
        super().__init__()
        self.stem = nn.Conv2D(3, dim, kernel_size=3, stride=(32, 4), padding=1)
        self.norm = nn.BatchNorm2D(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.layer_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        self.dim = dim

    def forward(self, x):
        x = nn.functional.relu(self.norm(self.stem(x))).squeeze(axis=2).transpose([0, 2, 1])
        q, k, v = paddle.split(self.qkv(x), 3, axis=-1)
        # `@`, not paddle.matmul: in Paddle 3.3.1 with legacy programs paddle.matmul (and bmm)
        # take the new-IR path and fail while tracing ("must be Value, but got Variable").
        attention = nn.functional.softmax(q @ k.transpose([0, 2, 1]) / self.dim ** 0.5)
        x = self.layer_norm(x + self.proj(attention @ v))
        return nn.functional.softmax(self.head(x) * 20.0, axis=-1)


@pytest.mark.parametrize("storage", ["int16", "float16"])
def test_an_attention_model_is_rewritten_too(tmp_path, storage):
    paddle.seed(1)
    probe, reference = export_inference_model(TinyAttentionRecognizer(), IMAGE_SHAPE, tmp_path)
    converted = store_weights_compactly(tmp_path, storage)["converted"]
    # the stem's conv filter, and qkv, proj and head (the layer norm's 64 + 64 are too small)
    assert sorted(name.split("_")[0] for name in converted) == ["conv2d"] + ["linear"] * 3
    output = run_predictor(tmp_path, probe, enable_mkldnn=True)
    assert float(np.abs(output - reference).max()) < TOLERANCE[storage][0]
    assert all(value.dtype == np.float32 for name, value in stored_values(tmp_path).items()
               if name.startswith(("batch_norm", "layer_norm")))
