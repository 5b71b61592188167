"""Stage extract: the raw competition files (data.raw_dir) → data/extracted, problems reported.

Usage: python stages/extract.py   (from the project root; reads params.yaml there)
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

from linerec import params as params_lib
from linerec.data import extraction
from linerec.errors import run_main


def main(argv):
    if argv:
        raise SystemExit(f"usage: python stages/extract.py (no arguments; got {' '.join(argv)})")
    settings = extraction.settings_from_params(params_lib.load())
    report = extraction.extract(settings)
    print(extraction.summary(report, settings.out_dir))


if __name__ == "__main__":
    run_main(main)
