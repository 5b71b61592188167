"""Image checks: what OpenCV (PaddleOCR's reader) decodes is accepted, the rest is named."""

import io

import numpy as np
import pytest
from PIL import Image

from linerec.data.images import check_image, jpeg_truncated


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def text_like(mode="RGB", size=(96, 32)):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB").convert(mode)


@pytest.mark.parametrize("mode, fmt", [
    ("RGB", "JPEG"), ("L", "JPEG"), ("CMYK", "JPEG"), ("RGBA", "PNG"), ("L", "PNG"),
    ("LA", "PNG"), ("P", "PNG"), ("RGB", "BMP"),
])
def test_decodable_images_are_accepted(mode, fmt):
    assert check_image(encode(text_like(mode), fmt)) is None


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_sixteen_bit_png_is_accepted(channels):
    import cv2

    pixels = (np.arange(32 * 64 * channels, dtype=np.uint32) * 997 % 65536).astype(np.uint16)
    ok, png = cv2.imencode(".png", pixels.reshape(32, 64, channels))
    assert ok and png.tobytes()[24] == 16  # IHDR bit depth
    assert check_image(png.tobytes()) is None


def test_zero_bytes():
    assert check_image(b"").kind == "empty_image"


def test_corrupt_bytes():
    problem = check_image(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    assert problem.kind == "undecodable_image"
    assert "JPEG" in problem.detail


def test_truncated_jpeg_is_caught_even_when_opencv_shows_it():
    data = encode(text_like(size=(400, 64)), "JPEG", quality=95)
    cut = data[: len(data) * 2 // 3]
    assert jpeg_truncated(cut) and not jpeg_truncated(data)
    # Whether OpenCV shows the cut image or refuses it, the user is told it was cut short.
    assert check_image(cut).kind == "truncated_image"


def test_bytes_after_the_end_marker_are_fine():
    data = encode(text_like(), "JPEG") + b"\x00" * 16 + b"trailer"
    assert check_image(data) is None


def test_jpeg_with_exif_thumbnail_is_not_truncated():
    thumb = encode(text_like(size=(16, 8)), "JPEG")
    main = encode(text_like(), "JPEG")
    # APP1 segment holding a whole JPEG (with its own end marker) before the main image's scan.
    app1 = b"\xff\xe1" + (len(thumb) + 2).to_bytes(2, "big") + thumb
    data = main[:2] + app1 + main[2:]
    assert check_image(data) is None
    assert jpeg_truncated(data[:-2])
