"""Chinese scene-text line recognition: data, CRNN models, training, decoding and inference."""

import os
import warnings

# albumentations (pulled in by paddleocr) phones home for updates on import; this pipeline is offline.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
# Paddle 3 reads this once, when it is first imported. The legacy program format is the one the
# competition counts (.pdmodel + .pdiparams), the one paddleocr's TextRecognizer loads, and the
# only one in which a shipped inference program (PP-OCRv4) can be loaded back as a trainable
# layer. Dygraph training is the same either way. Importing linerec before paddle is enough.
os.environ.setdefault("FLAGS_enable_pir_api", "0")
# Training such a loaded program: Paddle 3.3 runs its backward through the new PIR executor,
# which fails on the shipped PP-OCRv4 program (transpose_grad sees an unknown rank); the legacy
# executor runs it. These flags change nothing for the CRNNs, which train in dygraph.
os.environ.setdefault("FLAGS_enable_pir_in_executor", "0")
os.environ.setdefault("FLAGS_enable_pir_with_pt_in_dy2st", "0")
# Paddle's C++ INFO lines ("New Executor is Running") and its warning that ccache is missing
# (it only matters when compiling custom operators) would bury the pipeline's own messages.
os.environ.setdefault("GLOG_minloglevel", "1")
warnings.filterwarnings("ignore", message="No ccache found")
