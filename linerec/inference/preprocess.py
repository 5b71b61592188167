"""Reading crops as the recogniser expects them, and CRNN's batch resize (PaddleOCR's rule)."""

import math

import cv2
import numpy as np


def to_bgr8(image):
    """Any decoded crop (gray, 16-bit, BGRA) as 8-bit BGR; transparency is flattened onto white."""
    if image.dtype == np.uint16:
        image = (image / 257).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        flat = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return flat.round().astype(np.uint8)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    return image


def decode_image(data):
    """Bytes → BGR uint8, or None when the bytes are not an image OpenCV can read."""
    array = np.frombuffer(data, dtype=np.uint8)
    if array.size == 0:
        return None
    image = cv2.imdecode(array, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        return None
    return to_bgr8(image)


def read_image(path):
    with open(path, "rb") as handle:
        return decode_image(handle.read())


def batch_max_ratio(images, image_shape):
    """PaddleOCR pads a batch to the widest crop's aspect ratio, and never below the model's."""
    _, height, width = image_shape
    ratio = width / height
    for image in images:
        ratio = max(ratio, image.shape[1] / float(image.shape[0]))
    return ratio


def resize_normalize(image, image_shape, max_wh_ratio):
    """Height to the model's, width by aspect ratio, scaled to [-1, 1], right-padded with 0."""
    channels, height, _ = image_shape
    width = int(height * max_wh_ratio)
    ratio = image.shape[1] / float(image.shape[0])
    resized_w = width if math.ceil(height * ratio) > width else int(math.ceil(height * ratio))
    resized = cv2.resize(image, (resized_w, height)).astype("float32")
    resized = resized.transpose((2, 0, 1)) / 255
    resized -= 0.5
    resized /= 0.5
    padded = np.zeros((channels, height, width), dtype=np.float32)
    padded[:, :, :resized_w] = resized
    return padded


def ratio_batches(images, batch_size):
    """Index arrays of batches in aspect-ratio order: paddleocr's TextRecognizer's batches."""
    order = np.argsort([image.shape[1] / float(image.shape[0]) for image in images], kind="stable")
    return [order[start:start + batch_size] for start in range(0, len(images), batch_size)]


def batch_input(images, image_shape):
    """One batch of crops (BGR uint8) as the model's input: all padded to the widest's ratio."""
    ratio = batch_max_ratio(images, image_shape)
    return np.stack([resize_normalize(image, image_shape, ratio) for image in images])
