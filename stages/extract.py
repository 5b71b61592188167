"""Stage extract: data.raw_dir → data/extracted, every problem reported. data.raw_dir holds the
competition's three files or a folder of the user's own crops (data.layout; README: Your own
crops); both give the same output.

Usage: python stages/extract.py   (from the project root; reads params.yaml there)
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

from linerec import params as params_lib
from linerec.data import crop_extraction, extraction
from linerec.data.crop_folder import detect_layout
from linerec.errors import run_main


def main(argv):
    if argv:
        raise SystemExit(f"usage: python stages/extract.py (no arguments; got {' '.join(argv)})")
    settings = extraction.settings_from_params(params_lib.load())
    if settings.layout == "auto":
        layout, reason = detect_layout(settings.raw_dir, settings.label_file or None)
        reason = f"auto: {reason}"
    else:
        layout, reason = settings.layout, "set by data.layout"
    if layout == "competition":
        report = extraction.extract(settings, reason)
    else:
        report = crop_extraction.extract_crops(settings, layout, reason)
    print(extraction.summary(report, settings.out_dir))


if __name__ == "__main__":
    run_main(main)
