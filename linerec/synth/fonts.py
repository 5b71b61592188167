"""Finds the Chinese fonts the sample is drawn with and which characters they can draw."""

import functools
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from linerec.errors import PipelineError

FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_PIP_NAME = "pylopdf-fonts-zh-cn"
FONT_SUFFIXES = (".otf", ".ttf")
# A font that cannot draw these cannot draw a Chinese sign, whatever else it has.
_REQUIRED_CHARS = "中国店0123456789"
_INSTALL_FIX = f"pip install {FONT_PIP_NAME} (it ships Noto Sans SC and Noto Serif SC)"


@dataclass(frozen=True)
class Face:
    """One way of drawing text: a font file, optionally thickened into a faux bold."""

    path: str
    bold: bool

    @property
    def name(self):
        return Path(self.path).stem + (" bold" if self.bold else "")


def package_font_dir():
    try:
        return Path(str(importlib.resources.files(FONT_PACKAGE)))
    except ModuleNotFoundError:
        raise PipelineError(f"the font package {FONT_PIP_NAME} is not installed",
                            fix=_INSTALL_FIX) from None


def find_fonts(folder=None):
    """The usable font files in ``folder`` (default: the font package's folder), sorted by name."""
    folder = package_font_dir() if folder is None else Path(folder)
    candidates = sorted(p for p in folder.glob("*") if p.suffix.lower() in FONT_SUFFIXES) \
        if folder.is_dir() else []
    usable = [p for p in candidates if set(_REQUIRED_CHARS) <= coverage(p)]
    if not usable:
        found = ", ".join(p.name for p in candidates) or "no .otf or .ttf files"
        raise PipelineError(f"no usable Chinese font found ({found})", where=str(folder),
                            fix=_INSTALL_FIX)
    return usable


@functools.lru_cache(maxsize=None)
def coverage(path):
    """Every character the font has a glyph for; empty when the file cannot be read as a font."""
    from fontTools.ttLib import TTFont, TTLibError  # a paddleocr dependency

    try:
        with TTFont(str(path), lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (TTLibError, OSError, ValueError, AssertionError):
        return frozenset()
    return frozenset(chr(code) for code in cmap)


def drawable_chars(paths):
    """Characters every one of the fonts can draw, so any face can draw any generated line."""
    return frozenset.intersection(*(coverage(p) for p in paths))


def faces(paths):
    return tuple(Face(str(p), bold) for p in paths for bold in (False, True))


@functools.lru_cache(maxsize=512)
def load(path, size):
    # BASIC layout: CJK, digits and Latin need no shaping, and it draws the same everywhere,
    # whereas raqm may be missing or differ between installs and change the rendered bytes.
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
