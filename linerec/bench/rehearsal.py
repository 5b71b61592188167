"""The competition at its real size, on this machine: 50,000 training + 10,000 test lines
rendered with the sample's realistic profile, then the real stage scripts in a temporary
folder, each in its own process, with a params.yaml derived from the project's (written into
that folder only):

    sample (stages/sample.py)  extract  split (val 5,000)  train ppocrv6 (bounded steps, and
    its evaluations of the 5,000 val lines at step 0 and at the end)  export  predict (every
    test line)  submit

Each stage's wall time and peak RSS (the kernel's, for the stage process: os.wait4) are measured,
plus the sum over its process tree (predict runs a helper process), sampled. Targets, for the
full 60,000 lines:

    sample generation <= 5 min;  extract + split of 50,000 <= 2 min;
    predict 10,000 crops <= 3 min;  no stage above 4 GiB.

``lines`` below 60,000 scales every count (test a sixth, validation a tenth of train) and the
time targets are then judged on a linear projection to the full size: predict's start-up
(importing Paddle, building its predictors, reading the images) as measured, the rest times
the ratio of lines. The fine-tuning img/s is the trainer's own train/ips log; one epoch of
45,000 lines is projected from it.
"""

import csv
import io
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from linerec.bench.measure import ROOT, print_table, run_measured

FULL_LINES = 60_000
FULL_TEST = 10_000
EPOCH_LINES = 45_000  # the competition's training lines once 5,000 are held out
MEMORY_LIMIT_MB = 4096
# A line a stage prints once its fixed start-up is over (predict: Paddle imported, predictors
# built, the images read); what comes before it is not multiplied when projecting to full size.
WORK_STARTS = {"predict": lambda line: line.startswith("predict:") and " 0%|" in line}
# (what, the stages judged together, seconds allowed at full size)
TIME_TARGETS = (("sample", ("sample",), 300), ("extract + split", ("extract", "split"), 120),
                ("predict", ("predict",), 180))


def counts(lines):
    test = max(1, round(lines * FULL_TEST / FULL_LINES))
    train = max(2, lines - test)
    return {"lines": train + test, "train": train, "test": test,
            "val": max(1, round(train * 0.1))}


def rehearsal_params(base, sizes, train_steps, train_batch=None, variant=None, model="ppocrv6"):
    """The project's params with the competition's sizes, ``model`` trained for a bounded number
    of steps and exported; nothing else changes."""
    params = yaml.safe_load(yaml.safe_dump(base, sort_keys=False))
    params["data"]["raw_dir"] = "data/sample"
    params["sample"].update(profile="realistic", num_train=sizes["train"], num_test=sizes["test"])
    params["split"].update(mode="tail", val_size=sizes["val"])
    train = params[f"train_{model}"]
    train.update(max_steps=train_steps, eval_every_steps=train_steps,
                 log_every_steps=max(1, train_steps // 4))
    if train_batch:
        train["batch_size"] = train_batch
    if variant and model == "ppocrv6":
        train["model"]["variant"] = variant
    params["export"]["model"] = model
    return params


def stage_commands(model="ppocrv6"):
    return [("sample", ["sample.py"]), ("general", ["general.py"]), ("extract", ["extract.py"]),
            ("split", ["split.py"]),
            ("train", ["train.py", model, "--no-progress"]), ("export", ["export.py"]),
            ("predict", ["predict.py"]), ("submit", ["submit.py"])]


def training_speed(folder, lines, model="ppocrv6"):
    """Fine-tune img/s from the trainer's own train/ips log (the first window, which holds the
    first step's one-off costs, left out when there are others), and the step-0 evaluation's
    seconds from when the trainer printed its lines."""
    ips_file = Path(folder) / f"metrics/train_{model}/plots/metrics/train/ips.tsv"
    speeds = []
    if ips_file.exists():
        rows = list(csv.DictReader(io.StringIO(ips_file.read_text(encoding="utf-8")),
                                   delimiter="\t"))
        speeds = [float(row["ips"]) for row in rows]
    steady = speeds[1:] or speeds
    started = next((t for t, line in lines if line.startswith(f"training {model}")), None)
    evaluated = next((t for t, line in lines if line.startswith("step 0: val acc")), None)
    return {"images_per_s_windows": speeds,
            "images_per_s": sorted(steady)[len(steady) // 2] if steady else None,
            "step0_eval_s": evaluated - started if started is not None and evaluated else None}


def run(lines=FULL_LINES, train_steps=20, train_batch=None, variant=None, keep=None,
        timeout=None, echo=False, model="ppocrv6"):
    sizes = counts(lines)
    base = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params = rehearsal_params(base, sizes, train_steps, train_batch, variant, model)
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="linerec-rehearsal-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False),
                                        encoding="utf-8")
    (folder / "logs").mkdir(exist_ok=True)
    train = params[f"train_{model}"]
    variant = train["model"].get("variant", "small") if model == "ppocrv6" else None
    print(f"\nrehearsal: {sizes['train']:,} train + {sizes['test']:,} test lines (realistic), "
          f"val {sizes['val']:,}; {model}{' ' + variant if variant else ''}, "
          f"{train_steps} steps of batch {train['batch_size']}; in {folder}")
    stages, failed = {}, None
    try:
        for name, command in stage_commands(model):
            run_ = run_measured([sys.executable, str(ROOT / "stages" / command[0]), *command[1:]],
                                cwd=folder, log=folder / "logs" / f"{name}.log", timeout=timeout,
                                echo=echo)
            stages[name] = {k: round(v, 2) if isinstance(v, float) else v
                            for k, v in run_.items() if k != "lines"}
            starts = WORK_STARTS.get(name)
            stages[name]["startup_s"] = round(next(
                (t for t, line in run_["lines"] if starts and starts(line)), 0.0), 2)
            if name == "train":
                stages[name]["training"] = training_speed(folder, run_["lines"], model)
            if run_["returncode"] != 0:
                failed = name
                stages[name]["output_tail"] = [line for _, line in run_["lines"][-15:]]
                print(f"rehearsal: stage {name} failed (exit {run_['returncode']}):\n  "
                      + "\n  ".join(stages[name]["output_tail"]))
                break
        submission = folder / "data/submission.txt"
        result = {"sizes": sizes, "model": model, "variant": variant, "train_steps": train_steps,
                  "train_batch": train["batch_size"], "stages": stages,
                  "failed_stage": failed,
                  "submission_lines": (len(submission.read_text(encoding="utf-8").splitlines()) - 1
                                       if submission.exists() else None)}
        result.update(judge(stages, sizes, train["batch_size"]))
        if submission.exists():
            export_json = folder / "models/export.json"
            submit_json = folder / "metrics/submit.json"
            if export_json.exists():
                result["export"] = yaml.safe_load(export_json.read_text(encoding="utf-8"))
            if submit_json.exists():
                result["submit"] = yaml.safe_load(submit_json.read_text(encoding="utf-8"))
        result["folder"] = str(folder) if keep else None
        print_rehearsal(result)
        return result
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def factors(sizes):
    """How many times more each stage's lines are at full size."""
    return {"sample": FULL_LINES / sizes["lines"], "extract": FULL_LINES / sizes["lines"],
            "split": (FULL_LINES - FULL_TEST) / sizes["train"], "predict": FULL_TEST / sizes["test"]}


def at_full_size(name, stage, sizes):
    """The stage's seconds at full size: measured there, else its start-up plus the rest
    scaled linearly (an upper bound where some start-up is not marked)."""
    startup = stage.get("startup_s", 0.0)
    return startup + (stage["wall_s"] - startup) * factors(sizes)[name]


def judge(stages, sizes, batch):
    full = sizes["lines"] == FULL_LINES
    targets = []
    for label, names, limit in TIME_TARGETS:
        if not all(n in stages for n in names):
            continue
        seconds = sum(stages[n]["wall_s"] for n in names)
        at_full = sum(at_full_size(n, stages[n], sizes) for n in names)
        targets.append({"target": label, "measured_s": round(seconds, 1),
                        "full_size_s": round(at_full, 1), "projected": not full,
                        "limit_s": limit, "pass": at_full <= limit})
    memory = {name: stage["tree_peak_rss_mb"] for name, stage in stages.items()}
    worst = max(memory, key=memory.get) if memory else None
    targets.append({"target": f"every stage <= {MEMORY_LIMIT_MB} MiB", "worst_stage": worst,
                    "peak_mb": memory.get(worst), "limit_mb": MEMORY_LIMIT_MB,
                    "pass": bool(memory) and memory[worst] <= MEMORY_LIMIT_MB})
    out = {"targets": targets}
    speed = stages.get("train", {}).get("training", {}).get("images_per_s")
    if speed:
        out["epoch_estimate"] = {"lines": EPOCH_LINES, "batch_size": batch,
                                 "images_per_s": round(speed, 2),
                                 "hours": round(EPOCH_LINES / speed / 3600, 2)}
    return out


def print_rehearsal(result):
    sizes, stages = result["sizes"], result["stages"]
    work = {"sample": sizes["lines"], "extract": sizes["lines"], "split": sizes["train"],
            "predict": sizes["test"]}
    rows = []
    for name, stage in stages.items():
        count = work.get(name)
        rows.append([name, f"{count:,}" if count else "-", f"{stage['wall_s']:.1f}",
                     f"{1000 * stage['wall_s'] / count:.2f}" if count else "-",
                     f"{at_full_size(name, stage, sizes):.0f}" if name in work else "-",
                     f"{stage['peak_rss_mb']:.0f}", f"{stage['tree_peak_rss_mb']:.0f}",
                     "ok" if stage["returncode"] == 0 else f"exit {stage['returncode']}"])
    print_table(["stage", "lines", "wall s", "ms/line", "at 60k s", "peak RSS MB",
                 "tree RSS MB", "status"], rows)
    if sizes["lines"] != FULL_LINES:
        print(f"  (at 60k: projected linearly from {sizes['lines']:,} lines; predict's start-up "
              "is not scaled, the other stages' (< 1 s) is: an upper bound)")
    for target in result["targets"]:
        verdict = "PASS" if target["pass"] else "FAIL"
        if "limit_s" in target:
            how = "projected" if target["projected"] else "measured"
            print(f"  {verdict}  {target['target']}: {target['full_size_s']:.0f} s {how} at full "
                  f"size (limit {target['limit_s']} s; {target['measured_s']:.1f} s here)")
        else:
            print(f"  {verdict}  {target['target']}: largest {target['peak_mb']:.0f} MiB "
                  f"({target['worst_stage']}, process tree)")
    training = stages.get("train", {}).get("training")
    if training and training.get("step0_eval_s"):
        print(f"  train: the step-0 evaluation of {sizes['val']:,} val lines took "
              f"{training['step0_eval_s']:.0f} s "
              f"({sizes['val'] / training['step0_eval_s']:.1f} img/s)")
    epoch = result.get("epoch_estimate")
    if epoch:
        print(f"  one epoch of {epoch['lines']:,} lines at batch {epoch['batch_size']}: "
              f"{epoch['images_per_s']:.2f} img/s fine-tuning -> {epoch['hours']:.1f} h on this CPU")
    if result.get("submit"):
        print(f"  submission: {result['submission_lines']:,} lines, local acc "
              f"{result['submit'].get('acc', float('nan')):.4f}")
