"""Stage predict: the exported model over every test image → data/predictions.tsv.

An image that cannot be read gets an empty prediction and is reported by name.
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

from pathlib import Path

from linerec import params as params_lib
from linerec.atomic import atomic_path
from linerec.data.label_lines import read_names
from linerec.errors import run_main
from linerec.inference.predictor import predictor_from_params
from linerec.inference.readings import recognize_files, write_readings

EXTRACTED = Path("data/extracted")
EXPORT_DIR = Path("models/export")
OUT_FILE = Path("data/predictions.tsv")


def main(argv):
    section = params_lib.load().section("predict")
    names = read_names(EXTRACTED / "test_images.txt", "extract")
    if not names:
        # A crop folder without a test folder: a valid, empty file keeps submit and DVC going.
        with atomic_path(OUT_FILE) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
            write_readings(out, "name", [], [])
        print(f"predict: nothing to predict (no test images in {EXTRACTED / 'test_images.txt'}; "
              f"set data.test_dir for a crop folder) → {OUT_FILE} with its header only")
        return
    predictor = predictor_from_params(EXPORT_DIR, section)
    paths = [EXTRACTED / "test_images" / name for name in names]
    with predictor:
        results, failures = recognize_files(predictor, paths, desc="predict")
    with atomic_path(OUT_FILE) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as out:
        write_readings(out, "name", names, results)
    for position, _ in failures:
        print(f"predict: {paths[position]}: unreadable image, empty prediction")
    print(f"predict: {len(names)} test images ({len(failures)} unreadable, engine "
          f"{predictor.engine_name}) → {OUT_FILE}")


if __name__ == "__main__":
    run_main(main)
