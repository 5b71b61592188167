"""The character dictionary (dict.txt): PaddleOCR's ppocr_keys_v1, or built from the labels."""

from linerec.charset import PPOCR_KEYS, ppocr_keys_path, read_dictionary

SOURCES = (PPOCR_KEYS, "labels")


def from_labels(labels, use_space_char):
    """Every character of ``labels`` in order of first appearance.

    With use_space_char the space is left out: PaddleOCR appends it as its own class.
    """
    seen = {}
    for label in labels:
        for ch in label:
            seen.setdefault(ch, None)
    if use_space_char:
        seen.pop(" ", None)
    return list(seen)


def build(source, train_labels, use_space_char):
    """The dictionary's characters for data.dictionary = ``source``."""
    if source == PPOCR_KEYS:
        return read_dictionary(ppocr_keys_path())
    return from_labels(train_labels, use_space_char)


def to_text(chars):
    """dict.txt as PaddleOCR reads it: one character per line, UTF-8, '\\n' after each."""
    return "".join(f"{ch}\n" for ch in chars)
