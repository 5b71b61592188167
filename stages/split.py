"""Stage split: data/extracted/train_labels.tsv → data/split (train.txt, val.txt, dict.txt,
summary.md) and metrics/data.json.

Usage: python stages/split.py   (from the project root; reads params.yaml there)
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

from linerec import params as params_lib
from linerec.data import paths, splitting
from linerec.errors import run_main


def main(argv):
    if argv:
        raise SystemExit(f"usage: python stages/split.py (no arguments; got {' '.join(argv)})")
    metrics = splitting.make_split(params_lib.load())
    split = metrics["split"]
    print(f"split: {split['train']['lines']} train / {split['val']['lines']} val lines, "
          f"dictionary of {split['dictionary_size']} characters -> {paths.SPLIT_DIR}")
    for part in ("train", "val"):
        m = split[part]
        if m["out_of_dict_lines"] or m["dropped_total"]:
            print(f"  {part}: {m['out_of_dict_lines']} lines with characters outside the "
                  f"dictionary ({m['out_of_dict_distinct_chars']} distinct), "
                  f"{m['dropped_too_long']} too long, {m['dropped_empty']} empty after removal: "
                  "PaddleOCR would drop or alter these")
    print(f"  details: {paths.SPLIT_DIR / paths.SUMMARY}, {paths.SPLIT_DIR / paths.DATA_REPORT}")


if __name__ == "__main__":
    run_main(main)
