"""Training throughput and peak RSS, through the pipeline's own Trainer.

Each configuration is one Trainer run (a TrainConfig built from params.yaml's train_<model>
section, read only) in its own process, over lines rendered with the realistic profile:
1 warm-up step, then --repeats runs of --steps steps. A step's time is from the end of one
optimizer step to the end of the next, so it counts waiting for the DataLoader as well as
compute (forward, CTC loss, backward, Adam); ``waited`` is the part outside the step itself.
Everything else the trainer does (the pretrained start, its step-0 evaluation over a few lines,
the final evaluation and checkpoint) is off the clock but counts towards the peak RSS.
"""

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from linerec.bench import data
from linerec.bench.measure import ROOT, print_table, run_function, spread, summary

QUICK_BATCH = 8
COMPETITION_SHAPE = [3, 32, 320]
VAL_LINES = 8


@dataclass
class Case:
    label: str        # what the table calls it
    model: str        # the train_<model> section it takes its settings from
    model_cfg: dict
    image_shape: list
    batch_size: int
    settings: str


def project_params():
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def quick_cases(params, batch=QUICK_BATCH, models=None):
    """mobile at its sample shape; PP-OCRv4 and PP-OCRv6 tiny and small at 3x48x320, small
    also with its backbone frozen."""
    v6 = params["train_ppocrv6"]["model"]
    cases = [
        Case("mobile", "mobile", params["train_mobile"]["model"],
             params["train_mobile"]["image_shape"], batch, "sample"),
        Case("ppocrv4", "ppocrv4", params["train_ppocrv4"]["model"],
             params["train_ppocrv4"]["image_shape"], batch, "fine-tune"),
        Case("ppocrv6-tiny", "ppocrv6", {**v6, "variant": "tiny"},
             params["train_ppocrv6"]["image_shape"], batch, "fine-tune"),
        Case("ppocrv6-small", "ppocrv6", {**v6, "variant": "small"},
             params["train_ppocrv6"]["image_shape"], batch, "fine-tune"),
        # What presets/plates.yaml trains: no backbone gradients to compute.
        Case("ppocrv6-small-frozen", "ppocrv6", {**v6, "variant": "small", "freeze_backbone": True},
             params["train_ppocrv6"]["image_shape"], batch, "frozen backbone"),
    ]
    # The frozen-backbone case comes with its model's.
    return [case for case in cases
            if models is None or case.label.removesuffix("-frozen") in models]


def full_cases(params, competition_batch=256):
    """PP-OCRv4 at batch 4, 8 and 32; the mobile CRNN at the competition's shape and batch."""
    v4 = params["train_ppocrv4"]
    return [Case("ppocrv4", "ppocrv4", v4["model"], v4["image_shape"], batch, "fine-tune")
            for batch in (4, 8, 32)] + [
        Case("mobile", "mobile", params["train_mobile"]["model"], COMPETITION_SHAPE,
             competition_batch, "competition")]


def train_case(case, section, split, steps, repeats, work_dir):
    """In the child: one Trainer run of 1 + steps x repeats steps, each optimizer step timed."""
    from linerec.training.config import TrainConfig
    from linerec.training.trainer import Trainer

    total = 1 + steps * repeats
    cfg = TrainConfig(
        name=case["model"], model=case["model_cfg"], image_shape=case["image_shape"],
        max_text_length=25, use_space_char=True, epochs=1, batch_size=case["batch_size"],
        lr=section["lr"], warmup_epochs=0.0, l2=section["l2"], augment=section["augment"],
        eval_every_steps=total, log_every_steps=total, num_workers="auto", seed=0, amp="auto",
        max_steps=total, eval_batch_size=VAL_LINES, **split)
    start = time.perf_counter()
    trainer = Trainer(cfg, Path(work_dir) / "model", Path(work_dir) / "live", log=lambda *_: None)
    setup = time.perf_counter() - start
    ends, computes = [], []
    step = trainer._train_step

    def timed_step(*batch):
        begin = time.perf_counter()
        result = step(*batch)
        ends.append(time.perf_counter())
        computes.append(ends[-1] - begin)
        return result

    trainer._train_step = timed_step  # the trainer's own step, with a clock around it
    trainer.run(progress=False)
    runs = []
    for r in range(repeats):
        first = 1 + r * steps
        wall = ends[first + steps - 1] - ends[first - 1]
        compute = sum(computes[first:first + steps])
        runs.append({"images_per_s": case["batch_size"] * steps / wall,
                     "step_ms": 1000 * wall / steps, "compute_ms": 1000 * compute / steps,
                     "waited_ms": 1000 * (wall - compute) / steps})
    return {"classes": len(trainer.classes), "train_lines": len(trainer.train_set),
            "setup_s": setup, "runs": runs}


def measure(cases, params, steps, repeats, title):
    """Runs each case in its own process; prints and returns the section."""
    total = 1 + steps * repeats
    most = max(case.batch_size for case in cases) * total
    with tempfile.TemporaryDirectory(prefix="linerec-bench-train-") as folder:
        split = data.write_training_split(Path(folder) / "split", most, VAL_LINES)
        results = []
        for index, case in enumerate(cases):
            section = params[f"train_{case.model}"]
            results.append(run_function("linerec.bench.training:train_case", {
                "case": asdict(case),
                "section": {k: section[k] for k in ("lr", "l2", "augment")},
                "split": split, "steps": steps, "repeats": repeats,
                "work_dir": str(Path(folder) / f"run{index}")}))
    rows, table = [], []
    for case, result in zip(cases, results):
        row = {**asdict(case), "input": "x".join(map(str, case.image_shape))}
        cells = [case.label, case.settings, row["input"], case.batch_size]
        if "error" in result:
            rows.append({**row, "error": result["error"], "output_tail": result.get("output_tail")})
            table.append(cells + [f"error: {result['error']}"] + [""] * 5)
            continue
        runs = result["runs"]
        row.update(classes=result["classes"], peak_rss_mb=result["peak_rss_mb"],
                   setup_s=round(result["setup_s"], 1),
                   **{key: summary(r[key] for r in runs) for key in runs[0]})
        rows.append(row)
        table.append(cells + [row["classes"], spread(row["images_per_s"]),
                              f"{row['compute_ms']['median']:.0f}",
                              f"{row['waited_ms']['median']:.0f}", f"{row['setup_s']:.0f}",
                              f"{row['peak_rss_mb']:.0f} MB"])
    print(f"\n{title}: {steps} steps x {repeats} runs after 1 warm-up step, realistic lines; "
          "img/s median (min-max)")
    print_table(["model", "settings", "input", "batch", "classes", "img/s", "compute ms",
                 "waited ms", "setup s", "peak RSS"], table)
    return {"steps": steps, "repeats": repeats, "data": "rendered, realistic profile",
            "rows": rows}
