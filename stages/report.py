"""Stage report: data/evaluation/<name>.tsv + evaluate's metrics → reports/index.html.

Usage: python stages/report.py --evaluations data/evaluation --metrics data/evaluation
                               --out reports/index.html [--worst 30] [--params params.yaml]

One static page (no script, nothing fetched: crops are embedded) reading every trained model
(params.yaml `models`) and zero-shot baseline (`baselines`, as baseline-<name>) side by side:
headline metrics, accuracy by label length and by aspect ratio beside the baseline's, the most
confused characters, and the worst validation lines with their crops. Only the names in
params.yaml are read, so a leftover file of a model no longer listed never shows up.
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

import argparse
from pathlib import Path

from linerec import params as params_lib
from linerec.atomic import write_text
from linerec.errors import PipelineError, run_main
from linerec.report import analysis, page


def _names(params):
    names = []
    for key, prefix in (("models", ""), ("baselines", analysis.BASELINE_PREFIX)):
        value = params.tree.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PipelineError(f"expected a list of names, got {value!r}",
                                where=f"{params.path}: {key}", fix=f"write {key}: [name, ...]")
        names += [prefix + v for v in value]
    if not names:
        raise PipelineError("no models and no baselines to report on", where=params.path,
                            fix="list at least one name in models or baselines")
    return names


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=Path, default=Path("data/evaluation"),
                        help="folder of evaluate's <name>.tsv files")
    parser.add_argument("--metrics", type=Path, default=Path("data/evaluation"),
                        help="folder of evaluate's <name>.json (or eval_<name>.json) files: "
                             "data/evaluation's carry the counts and speed the page shows")
    parser.add_argument("--out", type=Path, default=Path("reports/index.html"))
    parser.add_argument("--worst", type=int, default=30, help="worst lines shown per model")
    parser.add_argument("--params", default=params_lib.PARAMS_FILE)
    args = parser.parse_args(argv)
    if args.worst < 0:
        parser.error("--worst must be 0 or more")

    names = _names(params_lib.load(args.params))
    evaluations = analysis.load_evaluations(args.evaluations, args.metrics, names)
    sizes = analysis.image_sizes(line.image for e in evaluations for line in e.lines)
    html = page.render(evaluations, sizes, worst=args.worst)
    write_text(args.out, html)
    unreadable = sum(size is None for size in sizes.values())
    print(f"report: {len(evaluations)} readers on {len(sizes)} validation crops -> {args.out} "
          f"({len(html.encode('utf-8')) / 1024:.0f} KiB)")
    if unreadable:
        print(f"  {unreadable} crops could not be read (shown as 'unreadable'); run the report "
              "from the project root, where the image paths start")


if __name__ == "__main__":
    run_main(main)
