"""Stage submit: data/predictions.tsv → data/submission.txt, checked against the test image list;
scored into metrics/submit.json where test labels exist (the embedded sample); the line counts
and the scores in data/submission.json."""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

import csv
from pathlib import Path

from linerec import submission
from linerec.atomic import write_json, write_text
from linerec.data.label_lines import read_label_lines, read_names
from linerec.errors import PipelineError, run_main
from linerec.metrics import score

EXTRACTED = Path("data/extracted")
PREDICTIONS = Path("data/predictions.tsv")
OUT_FILE = Path("data/submission.txt")
# Lines written, empty readings and, where test labels exist, the lines scored and the scores.
RECORD_FILE = Path("data/submission.json")
METRIC_KEYS = ("acc", "norm_edit_dis")


def read_tsv(path, columns):
    if not path.exists():
        raise PipelineError("file not found", where=str(path), fix="run the stages before submit")
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return {row[0]: row[columns] for row in rows if row}


def main(argv):
    names = read_names(EXTRACTED / "test_images.txt", "extract")
    predictions = read_tsv(PREDICTIONS, 1)
    predictions.pop("name", None)
    text = submission.render(names, predictions)
    parsed = submission.parse(text, where=str(OUT_FILE))
    submission.validate(parsed, names, where=str(OUT_FILE))
    write_text(OUT_FILE, text)

    record = {"lines": len(parsed), "empty": sum(1 for v in parsed.values() if not v)}
    labels_path = EXTRACTED / "test_labels.tsv"
    if labels_path.exists():
        labels = dict(read_label_lines(labels_path, "extract"))
        scored = [n for n in names if n in labels]
        record.update(score([parsed[n] for n in scored], [labels[n] for n in scored]))
        print(f"submit: local score on {len(scored)} labelled test images: "
              f"acc {record['acc']:.4f}, 1-NED {record['norm_edit_dis']:.4f}")
    write_json(RECORD_FILE, record)
    # Only the scores (none without test labels): every key of a metrics file is a column of
    # `dvc metrics show`.
    write_json("metrics/submit.json", {k: record[k] for k in METRIC_KEYS if k in record})
    if not names:
        print(f"submit: nothing to submit (no test images) → {OUT_FILE} with its header only")
        return
    print(f"submit: {len(parsed)} lines → {OUT_FILE}")


if __name__ == "__main__":
    run_main(main)
