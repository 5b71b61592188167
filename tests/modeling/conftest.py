import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import pytest  # noqa: E402

# The two recipes of params.yaml: PaddleOCR's ch_ppocr_mobile_v2.0 and ch_ppocr_server_v2.0 shapes.
MOBILE = {"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5,
                       "small_stride": [1, 2, 2, 2]},
          "neck": {"hidden_size": 48}}
SERVER = {"backbone": {"name": "ResNet", "layers": 34}, "neck": {"hidden_size": 256}}
CHINESE_CLASSES = 6625  # ppocr_keys_v1 (6,623) + space + blank


@pytest.fixture(autouse=True)
def _seeded():
    paddle.seed(0)
    np.random.seed(0)


def images(batch, width=320, seed=0):
    return paddle.to_tensor(np.random.default_rng(seed).standard_normal(
        (batch, 3, 32, width)).astype("float32"))


def parameter_count(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters())
