"""Stage sample: renders the embedded street-sign dataset into data/sample (competition format).

Usage: python stages/sample.py
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

import argparse
import time

from linerec import params as params_lib
from linerec.errors import run_main
from linerec.synth.dataset import SampleSpec, write_sample
from linerec.synth.text import PROFILES

# Fixed, not data.raw_dir: pointing raw_dir at the real data must never make this stage write there.
SAMPLE_DIR = "data/sample"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    params = params_lib.load()
    section = params.section("sample")
    spec = SampleSpec(
        seed=section.get("seed", int),
        num_train=section.get("num_train", int, minimum=1),
        num_test=section.get("num_test", int, minimum=1),
        profile=section.get("profile", str, choices=PROFILES),
        min_chars=section.get("min_chars", int, minimum=1),
        max_chars=section.get("max_chars", int, minimum=1),
        charset_size=section.get("charset_size", int, default=SampleSpec.charset_size),
        difficulty=section.get("difficulty", float, minimum=0.0),
    )
    out_dir = SAMPLE_DIR
    start = time.perf_counter()
    summary = write_sample(out_dir, spec)
    seconds = time.perf_counter() - start
    counts = summary["counts"]
    print(f"sample: {counts['train']} train + {counts['test']} test images ({summary['profile']}, "
          f"{summary['chars_used']} of {summary['charset_size']} characters used) "
          f"in {seconds:.1f}s → {out_dir}")
    for name, size in summary["files"].items():
        print(f"  {name}: {size / 1e6:.2f} MB")


if __name__ == "__main__":
    run_main(main)
