"""Every installed engine reads the export as Paddle Inference reads the competition's program
(the reference): the same text, probabilities within 1e-3; and the ONNX file beside it loads in
its clients with no extra flags (the dictionary is in its metadata)."""

import numpy as np
import paddle
import pytest

from linerec.charset import read_dictionary
from linerec.errors import PipelineError
from linerec.families import family_for
from linerec.inference import engines, export
from linerec.inference.onnx_file import read_characters
from linerec.inference.predictor import LinePredictor
from linerec.inference.preprocess import batch_input
from linerec.model_store import model_info
from linerec.synth import fonts, render

TEXTS = ["恒通超市", "营业时间8:00", "电话13800", "人民路88号", "欢迎光临", "E区25-26号"]
ONNX_ENGINES = [name for name in engines.ENGINES if name != "paddle"]


def crops():
    faces = fonts.faces(fonts.find_fonts())
    rng = np.random.default_rng(3)
    return [np.asarray(render.render(text, faces[i % len(faces)], rng, 0.2))[:, :, ::-1].copy()
            for i, text in enumerate(TEXTS)]


def _export(folder, storage):
    """PP-OCRv6 tiny as shipped, its head cut to the texts' characters, exported as the export
    stage exports it (with inference.onnx)."""
    family = family_for({"name": "PPOCRv6", "variant": "tiny", "head": "labels"}, [3, 48, 320])
    label_chars = sorted(set("".join(TEXTS)))
    chars = family.characters(label_chars, label_chars)
    folder.mkdir()
    dict_path = folder.parent / f"dict-{storage}.txt"
    dict_path.write_text("".join(c + "\n" for c in chars), encoding="utf-8")
    classes = family.classes(chars)
    paddle.seed(0)
    model = family.start(classes, log=lambda _: None)
    info = model_info(family, len(classes), 25, "ppocrv6")
    export.export_inference_model(model, info["image_shape"], folder, storage, onnx_dict=dict_path)
    export.write_export_config(folder, info, dict_path)
    return folder


@pytest.fixture(scope="module")
def int16_export(tmp_path_factory):
    return _export(tmp_path_factory.mktemp("engines") / "int16", "int16")


def probabilities(predictor, images):
    return predictor.engine.run(batch_input(images, predictor.image_shape))


@pytest.mark.parametrize("name", ONNX_ENGINES)
def test_each_installed_engine_reads_as_paddle_inference_reads_the_competition_program(
        name, int16_export):
    pytest.importorskip(name)
    images = crops()
    reference = LinePredictor(int16_export, batch_size=4, engine="paddle")
    other = LinePredictor(int16_export, batch_size=4, engine=name)
    assert other.engine_name == name
    expected = reference.predict(images)
    assert [text for text, _ in expected] == TEXTS  # a real reader, so the comparison means something
    got = other.predict(images)
    assert [text for text, _ in got] == [text for text, _ in expected]
    assert [c for _, c in got] == pytest.approx([c for _, c in expected], abs=1e-3)
    difference = np.abs(probabilities(other, images) - probabilities(reference, images)).max()
    print(f"{name} vs paddle on the int16 export: max |p| difference {difference:.1e}")
    assert difference < 1e-3


def test_the_onnx_file_computes_what_the_rounded_int16_weights_compute(int16_export, tmp_path):
    """Built from the float32 weights, the ONNX file would differ from the int16 program by the
    rounding (~1e-3); built from the weights as stored, only by reordered arithmetic."""
    onnxruntime = pytest.importorskip("onnxruntime")
    unrounded = _export(tmp_path / "float32", "float32")
    batch = batch_input(crops(), [3, 48, 320])
    stored = engines.PaddleEngine(int16_export, enable_mkldnn=False).run(batch)

    def onnx_output(folder):
        session = onnxruntime.InferenceSession(str(folder / engines.ONNX_FILE),
                                               providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: batch})[0]

    rounded_gap = np.abs(onnx_output(int16_export) - stored).max()
    unrounded_gap = np.abs(onnx_output(unrounded) - stored).max()
    print(f"onnx vs int16 program: {rounded_gap:.1e} from the stored weights, "
          f"{unrounded_gap:.1e} from the float32 ones")
    assert rounded_gap < 1e-4
    assert rounded_gap * 5 < unrounded_gap


def test_rapidocr_reads_the_dictionary_from_the_onnx_metadata_and_the_same_text(int16_export):
    """RapidOCR's onnxruntime reader takes custom_metadata_map["character"].splitlines() and
    decodes with blank + those characters + space; its decoder ships in rapidocr_paddle."""
    onnxruntime = pytest.importorskip("onnxruntime")
    from rapidocr_paddle.ch_ppocr_rec.utils import CTCLabelDecode

    characters = read_dictionary(int16_export / "dict.txt")
    assert read_characters(int16_export / engines.ONNX_FILE) == characters
    session = onnxruntime.InferenceSession(str(int16_export / engines.ONNX_FILE),
                                           providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    decoder = CTCLabelDecode(character=meta["character"].splitlines())
    images = crops()
    output = session.run(None, {session.get_inputs()[0].name: batch_input(images, [3, 48, 320])})[0]
    ours = LinePredictor(int16_export, batch_size=len(images), engine="paddle").predict(images)
    assert [text for text, _ in decoder(output)] == [text for text, _ in ours] == TEXTS


def test_auto_takes_the_fastest_installed_engine_whose_file_is_there(int16_export, tmp_path,
                                                                     monkeypatch):
    present = set(engines.ENGINES)
    monkeypatch.setattr(engines, "installed", lambda name: name in present)
    assert engines.resolve("auto", int16_export) == "openvino"
    assert engines.resolve("auto", int16_export, use_gpu=True) == "paddle"
    present.discard("openvino")
    assert engines.resolve("auto", int16_export) == "onnxruntime"
    assert engines.wants_onnx("auto")
    present.discard("onnxruntime")
    assert engines.resolve("auto", int16_export) == "paddle"
    assert not engines.wants_onnx("auto")
    # A folder without inference.onnx (an export from before it was written): Paddle.
    present.update(engines.ENGINES)
    (tmp_path / "old").mkdir()
    for name in (engines.MODEL_FILE, engines.PARAMS_FILE):
        (tmp_path / "old" / name).write_bytes((int16_export / name).read_bytes())
    assert engines.resolve("auto", tmp_path / "old") == "paddle"
    with pytest.raises(PipelineError, match="needs inference.onnx") as error:
        engines.resolve("openvino", tmp_path / "old")
    assert str(tmp_path / "old" / "inference.onnx") in str(error.value)
    with pytest.raises(PipelineError, match="unknown inference engine 'tensorrt'"):
        engines.resolve("tensorrt", int16_export, where="params.yaml: predict.engine")
