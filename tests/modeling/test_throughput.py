"""Training throughput on this machine (forward + backward + Adam step), printed, not asserted.

Opt-in (about two minutes on one thread):
    LINEREC_BENCH=1 OMP_NUM_THREADS=1 pytest -s tests/modeling/test_throughput.py
"""

import os
import time

import paddle
import pytest

from linerec.modeling.losses.rec_ctc_loss import CTCLoss
from linerec.modeling.recognizer import build_recognizer

from .conftest import CHINESE_CLASSES, MOBILE, SERVER, images

pytestmark = pytest.mark.skipif(os.environ.get("LINEREC_BENCH") != "1",
                                reason="benchmark: set LINEREC_BENCH=1 to run")


def images_per_second(cfg, num_classes, batch, width, steps=3):
    model = build_recognizer(cfg, num_classes=num_classes)
    model.train()
    optimizer = paddle.optimizer.Adam(learning_rate=1e-4, parameters=model.parameters())
    loss_fn = CTCLoss()
    x = images(batch, width=width)
    labels = paddle.randint(1, num_classes, [batch, 10])
    lengths = paddle.full([batch], 10, dtype="int64")

    def step():
        loss = loss_fn(model(x), labels, lengths)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


@pytest.mark.parametrize("name, cfg, classes, batch, width", [
    ("mobile", MOBILE, 100, 32, 320),
    ("mobile", MOBILE, 100, 32, 160),
    ("mobile", MOBILE, CHINESE_CLASSES, 32, 320),
    ("mobile", MOBILE, CHINESE_CLASSES, 32, 160),
    ("server", SERVER, 100, 8, 320),
    ("server", SERVER, CHINESE_CLASSES, 8, 320),
])
def test_training_throughput(name, cfg, classes, batch, width):
    rate = images_per_second(cfg, classes, batch, width)
    print(f"\n{name} {classes} classes, batch {batch} x 3x32x{width}: {rate:.1f} images/s "
          f"(threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')})")
