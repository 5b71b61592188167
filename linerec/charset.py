"""Character dictionaries: PaddleOCR's ppocr_keys_v1.txt from the paddleocr package, or our own."""

from pathlib import Path

from linerec.errors import PipelineError

PPOCR_KEYS = "ppocr_keys_v1"


def package_dir(name, ships=""):
    """The folder of an installed package whose data files (dictionaries, models) we read."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError(f"the {name} package{ships} is not installed",
                            fix="pip install -e . in the project root")
    return Path(list(spec.submodule_search_locations)[0])


def ppocr_keys_path():
    """The 6,623-character dictionary that ships inside the paddleocr wheel."""
    path = package_dir("paddleocr") / "ppocr" / "utils" / "ppocr_keys_v1.txt"
    if not path.exists():
        raise PipelineError("ppocr_keys_v1.txt is missing from the paddleocr package", where=str(path),
                            fix="reinstall paddleocr==2.10.0")
    return path


def read_dictionary(path):
    """Characters one per line, as PaddleOCR reads them (no stripping beyond the newline)."""
    lines = Path(path).read_bytes().decode("utf-8").split("\n")
    chars = [line.rstrip("\r") for line in lines]
    if chars and chars[-1] == "":
        chars.pop()
    return chars


def ctc_classes(dictionary_chars, use_space_char):
    """The model's output classes: CTC blank at index 0, then the dictionary, then the space."""
    classes = ["blank"] + list(dictionary_chars)
    if use_space_char:
        classes.append(" ")
    return classes


def gb2312_characters():
    """The 7,445 characters of GB2312 (6,763 hanzi in two frequency levels, plus symbols,
    full-width forms, kana, Greek and Cyrillic): the standard everyday simplified set."""
    chars = []
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars
