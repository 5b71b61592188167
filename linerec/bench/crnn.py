"""The from-scratch mobile CRNN over several seeds: does its recipe learn every time?

Each seed is one run of the train@mobile stage's own code (params.yaml's ``train_mobile``, with
``--set`` overrides and ``seed`` replaced) on the project's data/split, in its own process and a
temporary model folder; its best checkpoint is then scored as evaluate@mobile scores it (the
raw labels, batches of ``predict.batch_size``). One run at a time: on a 2-core machine a second
run would only slow both. A recipe that learns on some seeds and collapses onto one character
on others shows up as a wide spread, which one run cannot show.
"""

import copy
import csv
import statistics
import tempfile
from pathlib import Path

import yaml

from linerec.bench.measure import print_table, run_function, spread, summary

SECTION = "train_mobile"


def parse_override(text):
    """``key=value`` (a key of train_mobile) or ``section.key=value``; the value is YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"{text!r}: expected key=value, e.g. lr=0.002")
    path = key.split(".")
    if len(path) == 1:
        path = [SECTION, *path]
    return path, yaml.safe_load(value)


def apply_overrides(tree, overrides):
    tree = copy.deepcopy(tree)
    for text in overrides:
        path, value = parse_override(text)
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _column(live_dir, metric):
    path = Path(live_dir, "plots", "metrics", *metric.split("/")).with_suffix(".tsv")
    if not path.exists():
        return []
    rows = csv.DictReader(path.read_text(encoding="utf-8").splitlines(), delimiter="\t")
    name = metric.split("/")[-1]
    return [(int(float(row["step"])), float(row[name])) for row in rows]


def train_seed(seed, overrides, work_dir, split_dir=None):
    """In the child: one train@mobile run, then its best/ scored as evaluate@mobile does."""
    import time

    from linerec import params as params_lib
    from linerec.decoding import ctc_decoder
    from linerec.model_store import load_trained
    from linerec.training.config import from_params
    from linerec.training.evaluation import ValidationSet, evaluate
    from linerec.training.trainer import Trainer

    params = params_lib.load()
    tree = apply_overrides(params.tree, [*overrides, f"{SECTION}.seed={seed}"])
    # No guard: it refuses checkpoints only against a pretrained start (a CRNN starts from
    # nothing) and otherwise only breaks exact ties, so the general stage's folder is not needed.
    tree["guard"] = {**tree.get("guard", {}), "dir": ""}
    cfg = from_params("mobile", params_lib.Params(tree, params.path))
    if split_dir:
        cfg.train_file, cfg.val_file, cfg.dict_file = (
            str(Path(split_dir) / name) for name in ("train.txt", "val.txt", "dict.txt"))
    model_dir, live_dir = Path(work_dir) / "model", Path(work_dir) / "live"
    start = time.perf_counter()
    state = Trainer(cfg, model_dir, live_dir, log=lambda *_: None).run(progress=False)
    train_s = time.perf_counter() - start

    batch = params_lib.Params(tree, params.path).section("predict").get("batch_size", int)
    model, info, dict_path = load_trained(model_dir, "best")
    metric, _, _ = evaluate(model, ValidationSet(cfg.val_file), info["image_shape"], batch,
                            ctc_decoder(dict_path, info["use_space_char"]))
    result = metric.result()
    ips = [value for _, value in _column(live_dir, "train/ips")]
    return {"seed": seed, "acc": result["acc"], "norm_edit_dis": result["norm_edit_dis"],
            "steps": state["step"], "batch_size": cfg.batch_size,
            "best_step": state["best_step"], "train_s": round(train_s, 1),
            "images_per_s": round(statistics.median(ips), 1) if ips else None,
            "curve": [{"step": step, "acc": acc} for step, acc in _column(live_dir, "eval/acc")]}


def measure(seeds, overrides=(), split_dir=None):
    """Trains one run per seed, one after another; prints and returns the section."""
    results = []
    with tempfile.TemporaryDirectory(prefix="linerec-bench-crnn-") as folder:
        for seed in seeds:
            print(f"  seed {seed} ...", flush=True)
            results.append(run_function("linerec.bench.crnn:train_seed", {
                "seed": seed, "overrides": list(overrides),
                "work_dir": str(Path(folder) / f"seed{seed}"), "split_dir": split_dir}))
    rows, table = [], []
    for seed, result in zip(seeds, results):
        if "error" in result:
            rows.append({"seed": seed, "error": result["error"],
                         "output_tail": result.get("output_tail")})
            table.append([seed, f"error: {result['error']}", "", "", "", "", ""])
            continue
        row = {**result, "stage_s": round(result["wall_s"], 1),
               "peak_rss_mb": result["peak_rss_mb"]}
        del row["wall_s"]
        rows.append(row)
        curve = " ".join(f"{p['acc']:.2f}@{p['step']}" for p in row["curve"])
        table.append([seed, f"{row['acc']:.3f}", f"{row['norm_edit_dis']:.3f}",
                      f"{row['steps']}x{row['batch_size']}", f"{row['stage_s']:.0f}",
                      "-" if row["images_per_s"] is None else f"{row['images_per_s']:.1f}",
                      curve])
    done = [row for row in rows if "error" not in row]
    figures = {key: summary(row[key] for row in done)
               for key in ("acc", "norm_edit_dis", "stage_s")} if done else {}
    print(f"\nmobile CRNN from scratch, {len(seeds)} seed(s)"
          + (f", with {' '.join(overrides)}" if overrides else "") + ":")
    # acc and 1-NED as evaluate@mobile scores best/ (batches of predict.batch_size); the curve is
    # the trainer's own evaluation (batches of eval_batch_size), so its last point can differ.
    print_table(["seed", "acc", "1-NED", "steps", "stage s", "img/s", "trainer's val acc"], table,
                ["<", ">", ">", ">", ">", ">", "<"])
    if figures:
        print(f"median (min-max): acc {spread(figures['acc'], 3)}, "
              f"1-NED {spread(figures['norm_edit_dis'], 3)}, "
              f"stage {spread(figures['stage_s'], 0)} s")
    return {"overrides": list(overrides), "rows": rows, **figures}
