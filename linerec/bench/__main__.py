"""Benchmarks on this machine: training, inference, dvc repro and a full-size rehearsal.

    python -m linerec.bench                    quick: --training and --inference (a few minutes)
    python -m linerec.bench --training         training img/s + peak RSS at batch 8: mobile
                                               (3x32x160), PP-OCRv4, PP-OCRv6 tiny and small
    python -m linerec.bench --inference        each family's export (float32, int16) through
                                               LinePredictor vs paddleocr's TextRecognizer
    python -m linerec.bench --engines [--export DIR] [--crops DIR]
                                               every installed inference engine on one export
                                               (default: PP-OCRv6 small zero-shot), and
                                               recognize vs TextRecognizer, whole process
    python -m linerec.bench --training-full    PP-OCRv4 at batch 4, 8, 32; mobile CRNN at the
                                               competition's 3x32x320, batch 256 (long, GBs)
    python -m linerec.bench --crnn-seeds [--seeds 0,1,2] [--set lr=0.002 ...]
                                               the from-scratch mobile CRNN (train@mobile's
                                               code and params) trained once per seed on
                                               data/split: acc, 1 - NED, stage time (long)
    python -m linerec.bench --repro            dvc repro of a fresh clone, then no-op reruns
    python -m linerec.bench --noop-only        no-op dvc repro here (workspace up to date)
    python -m linerec.bench --rehearsal [--lines 60000]
                                               the competition's 60,000 lines through the real
                                               stages in a temporary folder (long)

Every figure is the median of --repeats runs with its min-max spread. Each section's table is
printed and stored under its own key in --out (metrics/bench.json, written atomically);
sections not run keep their previous figures there. Each section also records how many CPU
cores other processes kept busy while it ran: on a shared machine, that says which figures
were taken under contention. Speed is measured here, never asserted in tests.
"""

import argparse
import json
import os
import time
from pathlib import Path

from linerec.atomic import write_json
from linerec.bench import crnn, engines, inference, rehearsal, repro, training
from linerec.bench.measure import OtherLoad, load_average, machine

LAYOUT = 2  # of --out; a file of another layout (linerec/bench.py's) is started afresh
MODELS = inference.MODEL_NAMES


def name_list(value):
    names = [v for v in value.split(",") if v]
    unknown = set(names) - set(MODELS)
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"{value!r}: expected some of {','.join(MODELS)}")
    return names


def storage_list(value):
    names = [v for v in value.split(",") if v]
    if not names or not set(names) <= set(inference.STORAGES):
        raise argparse.ArgumentTypeError(f"{value!r}: expected float32, int16 or float32,int16")
    return names


def seed_list(value):
    try:
        seeds = [int(v) for v in value.split(",") if v]
    except ValueError:
        seeds = []
    if not seeds:
        raise argparse.ArgumentTypeError(f"{value!r}: expected seeds such as 0,1,2")
    return seeds


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m linerec.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_argument_group("what to measure (default: --training --inference)")
    what.add_argument("--training", action="store_true", help="the quick training section")
    what.add_argument("--inference", action="store_true", help="the quick inference section")
    what.add_argument("--engines", action="store_true",
                      help="inference engines side by side, and recognize vs TextRecognizer")
    what.add_argument("--training-full", action="store_true",
                      help="PP-OCRv4 at batch 4, 8, 32 and the mobile CRNN at batch 256")
    what.add_argument("--repro", action="store_true",
                      help="dvc repro of the whole pipeline in a fresh git clone, then no-op reruns")
    what.add_argument("--noop-only", action="store_true",
                      help="only a no-op dvc repro in this workspace, if it is up to date")
    what.add_argument("--rehearsal", action="store_true",
                      help="the competition at its real size through the stage scripts")
    what.add_argument("--crnn-seeds", action="store_true",
                      help="the mobile CRNN's train@mobile run once per --seeds (needs "
                           "data/split: dvc repro split)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--out", default="metrics/bench.json")
    train = parser.add_argument_group("training")
    train.add_argument("--steps", type=int, default=2, help="timed steps per run (default 2)")
    train.add_argument("--batch", type=int, default=training.QUICK_BATCH,
                       help=f"batch of the quick section (default {training.QUICK_BATCH})")
    train.add_argument("--competition-batch", type=int, default=256,
                       help="the mobile CRNN's batch in --training-full (default 256)")
    infer = parser.add_argument_group("training and inference")
    infer.add_argument("--models", type=name_list, default=list(MODELS),
                       help=f"some of {','.join(MODELS)} (default: all)")
    infer.add_argument("--storages", type=storage_list, default=list(inference.STORAGES),
                       help="export weights to compare (default float32,int16)")
    infer.add_argument("--num-images", type=int, default=64,
                       help="crops per inference pass (default 64)")
    infer.add_argument("--predict-batch", type=int, default=None,
                       help="inference batch (default: params.yaml's predict.batch_size)")
    engine = parser.add_argument_group("engines")
    engine.add_argument("--export", default=None, metavar="DIR",
                        help="an export folder with inference.onnx (default: PP-OCRv6 small "
                             "zero-shot, exported as the export stage does)")
    engine.add_argument("--crops", default=None, metavar="DIR",
                        help="a folder of crops (default: --num-images rendered ones)")
    seeds = parser.add_argument_group("crnn seeds")
    seeds.add_argument("--seeds", type=seed_list, default=[0, 1, 2],
                       help="seeds of --crnn-seeds (default 0,1,2)")
    seeds.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="a params.yaml value for those runs: lr=0.002 (train_mobile's) or "
                            "section.key=value; repeatable")
    seeds.add_argument("--split", default=None, metavar="DIR",
                       help="train.txt, val.txt and dict.txt (default: data/split)")
    rehearse = parser.add_argument_group("rehearsal")
    rehearse.add_argument("--lines", type=int, default=rehearsal.FULL_LINES,
                          help="train + test lines (default 60000: 50,000 + 10,000)")
    rehearse.add_argument("--train-steps", type=int, default=20,
                          help="fine-tuning steps of the train stage (default 20)")
    rehearse.add_argument("--train-batch", type=int, default=None,
                          help="its batch (default: params.yaml's train_ppocrv6.batch_size)")
    rehearse.add_argument("--model", choices=("ppocrv6", "ppocrv4"), default="ppocrv6",
                          help="the model trained, exported and predicted with (default ppocrv6)")
    rehearse.add_argument("--variant", choices=("tiny", "small"), default=None,
                          help="PP-OCRv6 variant (default: params.yaml's)")
    rehearse.add_argument("--keep", default=None, metavar="DIR",
                          help="run the rehearsal in DIR and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    for text in args.overrides:
        try:
            crnn.parse_override(text)
        except ValueError as error:
            parser.error(f"--set {error}")
    if not (args.training or args.inference or args.training_full or args.repro
            or args.noop_only or args.rehearsal or args.engines or args.crnn_seeds):
        args.training = args.inference = True
    return args


def sections(args):
    params = training.project_params()
    return [
        ("training", args.training, lambda: training.measure(
            training.quick_cases(params, args.batch, args.models), params, args.steps,
            args.repeats, f"training at batch {args.batch}")),
        ("inference", args.inference, lambda: inference.measure(
            args.models, args.storages, args.num_images, args.repeats, args.predict_batch,
            params)),
        ("engines", args.engines, lambda: engines.measure(
            args.export, args.crops, args.num_images, args.repeats, args.predict_batch, params)),
        ("training_full", args.training_full, lambda: training.measure(
            training.full_cases(params, args.competition_batch), params, args.steps,
            args.repeats, "training, full")),
        ("repro", args.repro, lambda: repro.bench_repro(Path.cwd(), args.repeats)),
        ("noop", args.noop_only, lambda: repro.bench_noop_here(args.repeats)),
        ("rehearsal", args.rehearsal, lambda: rehearsal.run(
            args.lines, args.train_steps, args.train_batch, args.variant, args.keep,
            model=args.model)),
        ("crnn_seeds", args.crnn_seeds, lambda: crnn.measure(args.seeds, args.overrides,
                                                              args.split)),
    ]


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    if report.get("layout") != LAYOUT:
        report = {"layout": LAYOUT}
    report["machine"] = machine()
    print(f"{report['machine']['cpu']}, {report['machine']['cpu_count']} CPUs; "
          f"load average {load_average()}")
    for name, wanted, run in sections(args):
        if not wanted:
            continue
        before, start = load_average(), time.perf_counter()
        with OtherLoad() as others:
            result = run()
        if result is None:
            continue
        report[name] = {**result, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "section_s": round(time.perf_counter() - start, 1),
                        "load_average_before": before, "load_average_after": load_average(),
                        "other_processes_cpu_cores": others.cores}
        print(f"{name}: {report[name]['section_s']:.0f} s; other processes kept {others.cores} "
              f"of {os.cpu_count()} CPU cores busy meanwhile")
        write_json(out, report)
    print(f"\n→ {out}")
    return report


if __name__ == "__main__":
    main()
