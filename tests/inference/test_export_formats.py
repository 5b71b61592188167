"""The PaddleX directory and the ONNX file read as our predictor reads the competition's export.

CI has no paddleocr 3.x, so the PaddleX directory is checked against what paddleocr 3.7's
TextRecognition reads from it (file names, inference.yml's keys, the dictionary) and its
program is run by Paddle Inference in PIR mode, in a child process as PaddleX would.
"""

import json
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest
import yaml

from linerec.charset import read_dictionary
from linerec.decoding import ctc_decoder
from linerec.errors import PipelineError
from linerec.families import family_for
from linerec.inference import export
from linerec.inference.export_formats import (ONNX_FILE, PADDLEX_FILES, write_onnx,
                                              write_paddlex_dir)
from linerec.inference.onnx_file import read_characters
from linerec.inference.predictor import LinePredictor
from linerec.inference.preprocess import batch_input
from linerec.model_store import load_trained, model_info
from linerec.synth import fonts, render
from linerec.training import checkpoint

TEXTS = ["恒通超市", "营业时间8:00", "电话13800", "人民路88号"]
MODELS = {"crnn": ({"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5},
                    "neck": {"hidden_size": 48}}, [3, 32, 320]),
          "ppocrv6_tiny": ({"name": "PPOCRv6", "variant": "tiny", "head": "labels"}, [3, 48, 320])}


def crops():
    face = fonts.faces(fonts.find_fonts())[0]
    rng = np.random.default_rng(0)
    return [np.asarray(render.render(text, face, rng, 0.0))[:, :, ::-1].copy() for text in TEXTS]


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """name -> (models/<name> with a best/ checkpoint, the competition's float32 export of it);
    PP-OCRv6 tiny pretrained with its head cut to the texts' characters, CRNN untrained."""
    built = {}

    def build(name):
        if name not in built:
            built[name] = _trained(name, tmp_path_factory.mktemp(name))
        return built[name]

    return build


def _trained(name, root):
    model_cfg, image_shape = MODELS[name]
    family = family_for(model_cfg, image_shape)
    label_chars = sorted(set("".join(TEXTS)))
    chars = family.characters(label_chars, label_chars)
    dict_path = root / "dict.txt"
    dict_path.write_text("".join(c + "\n" for c in chars), encoding="utf-8")
    classes = family.classes(chars)
    paddle.seed(0)
    model = family.start(classes, log=lambda _: None)
    model_dir = root / "models" / name
    checkpoint.save(model_dir / "best", model, None, {"step": 0},
                    model_info(family, len(classes), 25, name), dict_path)
    model, info, dict_path = load_trained(model_dir)
    legacy = root / "export"
    legacy.mkdir()
    export.export_inference_model(model, info["image_shape"], legacy, "float32")
    export.write_export_config(legacy, info, dict_path)
    return model_dir, legacy


def ours(legacy_dir, images):
    """Our predictor's probabilities for one batch of the crops, and its texts."""
    predictor = LinePredictor(legacy_dir, batch_size=len(images), engine="paddle")
    batch = batch_input(images, predictor.image_shape)
    return batch, predictor.engine.run(batch), [text for text, _ in predictor.predict(images)]


def greedy_texts(probabilities, dict_path):
    return [text for text, _ in ctc_decoder(dict_path, True)(probabilities)]


@pytest.fixture(scope="module")
def paddlex_dir(build):
    model_dir, legacy = build("ppocrv6_tiny")
    out = model_dir.parent.parent / "paddlex"
    summary = write_paddlex_dir(model_dir, out)
    return out, summary, legacy


def test_the_paddlex_dir_holds_what_paddleocr_3_reads(paddlex_dir):
    out, summary, legacy = paddlex_dir
    assert sorted(p.name for p in out.iterdir()) == sorted(PADDLEX_FILES)
    assert summary["model_name"] == "PP-OCRv6_tiny_rec" and summary["max_output_drift"] < 1e-3
    config = yaml.safe_load((out / "inference.yml").read_text(encoding="utf-8"))
    # paddleocr 3.7: TextRecognition(model_dir=out, model_name=Global.model_name).
    assert config["Global"]["model_name"] == "PP-OCRv6_tiny_rec"
    ops = config["PreProcess"]["transform_ops"]
    assert ops[0] == {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}}
    assert ops[1] == {"RecResizeImg": {"image_shape": [3, 48, 320]}}
    # PaddleX decodes with blank + character_dict + a space it appends: our head's classes.
    assert config["PostProcess"]["name"] == "CTCLabelDecode"
    characters = read_dictionary(legacy / "dict.txt")
    assert config["PostProcess"]["character_dict"] == characters
    info = json.loads((legacy / "recognizer.json").read_text(encoding="utf-8"))
    assert info["use_space_char"] is True


PIR_RUN = """
import sys, numpy as np
from paddle import inference
from paddle.framework import use_pir_api
assert use_pir_api(), "not in PIR mode"
model_dir, batch_path, out_path = sys.argv[1:]
config = inference.Config(model_dir + "/inference.json", model_dir + "/inference.pdiparams")
config.disable_gpu(); config.set_cpu_math_library_num_threads(1); config.enable_mkldnn()
config.disable_glog_info()
predictor = inference.create_predictor(config)
batch = np.load(batch_path)
handle = predictor.get_input_handle(predictor.get_input_names()[0])
handle.reshape(batch.shape); handle.copy_from_cpu(batch); predictor.run()
np.save(out_path, predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu())
"""


def test_paddle_inference_in_pir_mode_runs_the_paddlex_program_as_ours_runs_the_export(
        paddlex_dir, tmp_path):
    out, _, legacy = paddlex_dir
    batch, expected, texts = ours(legacy, crops())
    np.save(tmp_path / "batch.npy", batch)
    env = {k: v for k, v in os.environ.items() if k != "FLAGS_enable_pir_api"}
    subprocess.run([sys.executable, "-c", PIR_RUN, str(out), str(tmp_path / "batch.npy"),
                    str(tmp_path / "out.npy")], env=env, check=True, timeout=300)
    theirs = np.load(tmp_path / "out.npy")
    assert theirs.shape == expected.shape
    assert np.abs(theirs - expected).max() < 1e-4
    assert greedy_texts(theirs, legacy / "dict.txt") == texts == TEXTS


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnxruntime_reads_the_onnx_export_as_our_predictor_reads_the_paddle_one(name, build):
    import onnxruntime

    model_dir, legacy = build(name)
    out = model_dir.parent.parent / "onnx"
    summary = write_onnx(model_dir, out)
    assert summary["max_output_drift"] < 1e-3
    written = {path.name for path in out.iterdir()}
    assert written == {ONNX_FILE, "dict.txt", "inference.yml", "recognizer.json"}
    assert (out / "dict.txt").read_bytes() == (legacy / "dict.txt").read_bytes()
    # RapidOCR needs no dictionary flag: it reads the characters from the file's metadata.
    assert read_characters(out / ONNX_FILE) == read_dictionary(legacy / "dict.txt")
    images = crops()
    batch, expected, texts = ours(legacy, images)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(out / ONNX_FILE), options,
                                           providers=["CPUExecutionProvider"])
    theirs = session.run(None, {session.get_inputs()[0].name: batch})[0]
    print(f"{name}: onnx vs ours max |p| difference {np.abs(theirs - expected).max():.1e}")
    assert np.abs(theirs - expected).max() < 1e-4
    assert greedy_texts(theirs, out / "dict.txt") == texts
    if name == "ppocrv6_tiny":
        assert texts == TEXTS


def test_a_failing_export_child_is_one_clear_error_and_writes_nothing(tmp_path):
    with pytest.raises(PipelineError, match="no trained model here") as error:
        write_paddlex_dir(tmp_path / "models" / "missing", tmp_path / "paddlex")
    assert "paddlex export failed (exit code 2)" in str(error.value)
    assert not (tmp_path / "paddlex").exists()


def test_the_formats_list_is_checked_and_writing_only_paddle_leaves_a_summary(tmp_path):
    from linerec.inference.export_formats import check_formats, write_formats

    assert check_formats(["paddle", "onnx"]) == ["paddle", "onnx"]
    for bad, message in ((["paddle", "tflite"], "unknown export format 'tflite'"),
                         (["paddle", "onnx", "onnx"], "listed twice"),
                         (["onnx"], "paddle format is missing"), ("onnx", "expected a list")):
        with pytest.raises(PipelineError, match=message):
            check_formats(bad)
    assert write_formats(["paddle"], tmp_path / "models/none", tmp_path / "formats") == {}
    assert [p.name for p in (tmp_path / "formats").iterdir()] == ["formats.json"]
