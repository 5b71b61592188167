import cv2
import numpy as np
import pytest

from linerec.inference.preprocess import batch_max_ratio, decode_image, resize_normalize, to_bgr8


def _encode(image, ext):
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


def test_odd_inputs_decode_to_8bit_bgr():
    gray = np.full((20, 60), 128, np.uint8)
    assert decode_image(_encode(gray, ".png")).shape == (20, 60, 3)
    deep = np.full((20, 60, 3), 65535, np.uint16)
    decoded = decode_image(_encode(deep, ".png"))
    assert decoded.dtype == np.uint8 and decoded.max() == 255
    transparent = np.zeros((20, 60, 4), np.uint8)  # fully transparent black → white
    assert decode_image(_encode(transparent, ".png")).min() == 255


def test_unreadable_bytes_give_none():
    assert decode_image(b"") is None
    assert decode_image(b"\xff\xd8\xff\xe0 not really a jpeg") is None


def test_resize_matches_paddleocr_text_recognizer():
    from paddleocr.tools.infer.predict_rec import TextRecognizer

    recognizer = TextRecognizer.__new__(TextRecognizer)  # only its resize rule is exercised
    recognizer.rec_image_shape = [3, 32, 320]
    recognizer.rec_algorithm = "CRNN"
    recognizer.use_onnx = False
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
              for h, w in ((32, 100), (48, 900), (17, 3), (64, 64))]
    ratio = batch_max_ratio(images, [3, 32, 320])
    assert ratio == pytest.approx(900 / 48)
    for image in images:
        np.testing.assert_array_equal(resize_normalize(image, [3, 32, 320], ratio),
                                      recognizer.resize_norm_img(image, ratio))


def test_to_bgr8_keeps_colour_images():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert to_bgr8(image) is image
