"""Is this file an image the training reader can use? Decoded as PaddleOCR's DecodeImage does.

cv2.imdecode(..., IMREAD_COLOR) turns CMYK, 16-bit, grayscale and alpha images into 8-bit BGR,
so all of those are accepted. A JPEG whose scan data stops before its end-of-image marker is
called truncated, whether OpenCV refuses it or shows it (the missing part comes out grey).
"""

from dataclasses import dataclass

import cv2
import numpy as np

_JPEG_START = b"\xff\xd8"
_JPEG_SCAN = b"\xff\xda"     # start of scan; the main image's last scan comes last
_JPEG_END = b"\xff\xd9"      # end of image; cannot occur inside scan data (0xFF is stuffed)


@dataclass(frozen=True)
class ImageProblem:
    kind: str      # empty_image, undecodable_image or truncated_image
    detail: str


def check_image(data):
    """None when ``data`` decodes to a non-empty image; an ImageProblem otherwise."""
    if not data:
        return ImageProblem("empty_image", "0 bytes")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        # Newer OpenCV refuses a cut JPEG outright; "truncated" tells the user to fetch it again.
        if data.rfind(_JPEG_SCAN) >= 0 and jpeg_truncated(data):
            return ImageProblem("truncated_image",
                                f"{len(data)} bytes; the JPEG data stops before its end marker "
                                "and OpenCV cannot decode it")
        return ImageProblem("undecodable_image",
                            f"{len(data)} bytes that OpenCV cannot decode ({_kind_of(data)})")
    if jpeg_truncated(data):
        return ImageProblem("truncated_image",
                            f"{len(data)} bytes; the JPEG data stops before its end marker")
    return None


def jpeg_truncated(data):
    """A JPEG without an end-of-image marker after its last start-of-scan."""
    if not data.startswith(_JPEG_START):
        return False
    last_scan = data.rfind(_JPEG_SCAN)
    return last_scan < 0 or data.find(_JPEG_END, last_scan) < 0


def _kind_of(data):
    signatures = {b"\xff\xd8": "JPEG", b"\x89PNG": "PNG", b"GIF8": "GIF", b"BM": "BMP",
                  b"RIFF": "RIFF/WebP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
    for magic, name in signatures.items():
        if data.startswith(magic):
            return f"starts like a {name} file"
    return "not a known image format"
