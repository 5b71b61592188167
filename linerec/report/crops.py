"""Validation crops as data: URIs, so the report is one self-contained file.

A small PNG/JPEG/GIF/WebP is embedded as it is; anything bigger, or in another format, is
decoded with OpenCV, shrunk to fit MAX_WIDTH x MAX_HEIGHT and re-encoded as JPEG.
"""

import base64
from pathlib import Path

MAX_EMBED_BYTES = 16 * 1024
MAX_WIDTH, MAX_HEIGHT = 480, 64
JPEG_QUALITY = 85
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _mime(data):
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _uri(mime, data):
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def data_uri(path, root="."):
    """The crop at ``root/path`` as a data: URI, or None when it cannot be read or decoded."""
    try:
        data = (Path(root) / path).read_bytes()
    except OSError:
        return None
    mime = _mime(data)
    if mime is not None and len(data) <= MAX_EMBED_BYTES:
        return _uri(mime, data)
    return _reencoded(data)


def _reencoded(data):
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None
    height, width = image.shape[:2]
    scale = min(1.0, MAX_WIDTH / width, MAX_HEIGHT / height)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return _uri("image/jpeg", encoded.tobytes()) if ok else None
