"""Chinese scene-text line recognition: data, CRNN models, training, decoding and inference."""

import os

# albumentations (pulled in by paddleocr) phones home for updates on import; this pipeline is offline.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
