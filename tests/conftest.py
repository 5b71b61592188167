"""Shared fixtures: small, real, generated text-line data, and a project copy to run stages in."""

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linerec.runtime import configure_stage

# The test process is configured as an exporting stage's, before any test imports paddle.
configure_stage(legacy_programs=True)

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("OMP_NUM_THREADS", "1")

DIGITS_CHARS = "0123456789"


def render_line(text, height=32, font_size=26):
    """Black digits on white: easy enough that a few hundred steps learn them."""
    from PIL import Image, ImageDraw, ImageFont


    font = ImageFont.truetype(str(_font_path()), font_size)
    width = int(font.getlength(text)) + 8
    image = Image.new("RGB", (width, height), (255, 255, 255))
    ImageDraw.Draw(image).text((4, (height - font_size) // 2 - 4), text, font=font, fill=(0, 0, 0))
    return image


def _font_path():
    import pylopdf_fonts_zh_cn

    return Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"


def write_split(root, n_train=64, n_val=16, chars=DIGITS_CHARS, lengths=(2, 4), seed=0):
    """A data/split folder as the split stage writes it, over images under data/extracted."""
    root = Path(root)
    images = root / "data" / "extracted" / "train_images"
    split = root / "data" / "split"
    images.mkdir(parents=True, exist_ok=True)
    split.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    lines = []
    for index in range(n_train + n_val):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(*lengths)))
        name = f"{index}.jpg"
        render_line(text).save(images / name, quality=95)
        lines.append(f"data/extracted/train_images/{name}\t{text}")
    (split / "train.txt").write_text("\n".join(lines[:n_train]) + "\n", encoding="utf-8")
    (split / "val.txt").write_text("\n".join(lines[n_train:]) + "\n", encoding="utf-8")
    (split / "dict.txt").write_text("\n".join(chars) + "\n", encoding="utf-8")
    write_general(root, chars, lengths, rng)
    return split


def write_general(root, chars=DIGITS_CHARS, lengths=(2, 4), rng=None, lines=8):
    """data/general/{replay,guard} as the general stage writes them (crop folders with
    labels.tsv), with a few lines each, so that stages run from params.yaml find them."""
    rng = rng or random.Random(1)
    for folder in ("replay", "guard"):
        target = Path(root) / "data" / "general" / folder
        target.mkdir(parents=True, exist_ok=True)
        rows = []
        for index in range(lines):
            text = "".join(rng.choice(chars) for _ in range(rng.randint(*lengths)))
            render_line(text).save(target / f"{index}.jpg", quality=95)
            rows.append(f"{index}.jpg\t{text}\n")
        (target / "labels.tsv").write_text("".join(rows), encoding="utf-8")


@pytest.fixture
def split_dir(tmp_path, monkeypatch):
    """A tiny split in tmp_path, which becomes the working directory."""
    write_split(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data" / "split"


def run_stage(script, *args, cwd, env=None, check=True, timeout=900):
    """Runs stages/<script> as DVC would: a subprocess in the project folder ``cwd``."""
    full_env = dict(os.environ, **(env or {}))
    result = subprocess.run([sys.executable, str(ROOT / "stages" / script), *args], cwd=cwd,
                            env=full_env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{script} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def copy_project(destination):
    """The project's tracked layout (code, dvc.yaml, params.yaml) in a fresh git repo."""
    destination = Path(destination)
    for name in ("linerec", "stages", "plots", "dvc.yaml", "params.yaml", ".dvc", ".dvcignore",
                 ".gitignore", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name,
                            ignore=shutil.ignore_patterns("__pycache__", "tmp", "cache"))
        elif source.exists():
            shutil.copy2(source, destination / name)
    return destination


def chromium(what):
    """The headless Chromium the page tests open ``what`` in; a failure says how to install it."""
    for candidate in ("chromium", "chromium-browser", "/usr/bin/chromium"):
        found = shutil.which(candidate)
        if found:
            return found
    pytest.fail(f"headless Chromium is needed to render {what} and was not found: install it "
                "with `apt-get update -qq && apt-get install -y -qq chromium` (.ci/run does)")
