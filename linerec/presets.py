"""Turns a preset (a partial params.yaml) into `dvc exp run` arguments: `-S section.key=value`.

Usage: dvc exp run $(python -m linerec.presets presets/competition.yaml)
"""

import json
import sys
from pathlib import Path

import yaml

from linerec.errors import PipelineError, run_main


def flatten(tree, prefix=""):
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, f"{path}.")
        else:
            yield path, value


def set_arguments(preset):
    arguments = []
    for key, value in flatten(preset):
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if isinstance(value, float) and "e" in text and "." not in text:
            # YAML 1.1 (PyYAML) reads 1e-05 as a string; 1.0e-05 is a float in every reader.
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        if any(c.isspace() for c in text):
            raise PipelineError(f"{key}: a value with spaces cannot be passed through $(...)",
                                fix="apply that value by editing params.yaml")
        arguments += ["-S", f"{key}={text}"]
    return arguments


def main(argv):
    if len(argv) != 1:
        raise PipelineError("usage: python -m linerec.presets PRESET.yaml")
    path = Path(argv[0])
    if not path.exists():
        raise PipelineError("preset not found", where=str(path))
    preset = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    print(" ".join(set_arguments(preset)))


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
