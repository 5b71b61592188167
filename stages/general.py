"""Stage general: rendered general text → data/general/{replay,guard} (crop folders).

Usage: python stages/general.py

What a fine-tune may replay to keep reading general text, and the default guard set that every
model is scored on (see linerec/synth/general.py).
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

import argparse
import time

from linerec import params as params_lib
from linerec.errors import run_main
from linerec.synth.general import write_general

OUT_DIR = "data/general"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    section = params_lib.load().section("general")
    counts = {"replay": section.get("replay_lines", int, minimum=1),
              "guard": section.get("guard_lines", int, minimum=1)}
    start = time.perf_counter()
    used = write_general(OUT_DIR, section.get("seed", int), counts,
                         section.get("difficulty", float, minimum=0.0))
    print(f"general: {counts['replay']} replay + {counts['guard']} guard lines "
          f"({used['replay']} and {used['guard']} distinct characters) in "
          f"{time.perf_counter() - start:.1f}s → {OUT_DIR}")


if __name__ == "__main__":
    run_main(main)
