"""Training-step throughput of the recognisers on this machine: prints a table and writes JSON.

    python -m linerec.bench [--steps 5] [--repeats 3] [--out metrics/bench.json]

Figures are the median of several timed runs (after one warm-up step) with their spread. They
are measurements, never assertions: nothing in the test suite depends on speed.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import time

MOBILE = {"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5,
                       "small_stride": [1, 2, 2, 2]}, "neck": {"hidden_size": 48}}
SERVER = {"backbone": {"name": "ResNet", "layers": 34}, "neck": {"hidden_size": 256}}
FULL_DICTIONARY_CLASSES = 6625  # blank + 6,623 characters + space

CASES = [
    ("mobile", MOBILE, 100, 32, 160),
    ("mobile", MOBILE, 100, 32, 320),
    ("mobile", MOBILE, FULL_DICTIONARY_CLASSES, 32, 320),
    ("mobile", MOBILE, FULL_DICTIONARY_CLASSES, 256, 320),
    ("server", SERVER, 100, 8, 320),
]


def training_rate(cfg, num_classes, batch, width, steps):
    import paddle

    from linerec.modeling.losses.rec_ctc_loss import CTCLoss
    from linerec.modeling.recognizer import build_recognizer

    paddle.seed(0)
    model = build_recognizer(cfg, num_classes=num_classes)
    model.train()
    optimizer = paddle.optimizer.Adam(learning_rate=1e-4, parameters=model.parameters())
    loss_fn = CTCLoss()
    images = paddle.uniform([batch, 3, 32, width], min=-1.0, max=1.0)
    labels = paddle.randint(1, num_classes, [batch, 10])
    lengths = paddle.full([batch], 10, dtype="int64")

    def step():
        loss = loss_fn(model(images), labels, lengths)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="metrics/bench.json")
    parser.add_argument("--quick", action="store_true", help="only the sample-size mobile case")
    args = parser.parse_args()
    cases = CASES[:1] if args.quick else CASES
    rows = []
    print(f"{'model':8} {'classes':>7} {'batch':>5} {'input':>10} {'img/s':>8} {'spread':>12}")
    for name, cfg, classes, batch, width in cases:
        rates = [training_rate(cfg, classes, batch, width, args.steps) for _ in range(args.repeats)]
        row = {"model": name, "classes": classes, "batch": batch, "input": f"3x32x{width}",
               "images_per_s": statistics.median(rates), "min": min(rates), "max": max(rates)}
        rows.append(row)
        print(f"{name:8} {classes:>7} {batch:>5} {row['input']:>10} {row['images_per_s']:>8.1f} "
              f"{row['min']:>5.1f}-{row['max']:<6.1f}")
    peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    machine = {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
               "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "1 (set by paddle)")}
    print(f"peak RSS {peak_rss_gb:.2f} GB; {machine}")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump({"training": rows, "peak_rss_gb": peak_rss_gb, "machine": machine}, out, indent=2)


if __name__ == "__main__":
    main()
