"""What PaddleOCR's CTCLabelEncode would silently do to each label at training time.

CTCLabelEncode (paddleocr 2.10, ppocr/data/imaug/label_ops.py) returns None, and SimpleDataSet
then swaps in a random other line, when a label is longer than max_text_length (counted before
anything is removed) or when nothing is left after dropping the characters that are not
classes; characters that are not classes are dropped without a word. The classes are the
dictionary, plus the space when use_space_char is set.
"""

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LineCheck:
    lines: int = 0
    out_of_dict_lines: int = 0        # lines with at least one character that is not a class
    altered_lines: int = 0            # ... of which kept, with those characters removed
    dropped_too_long: int = 0         # len(label) > max_text_length: the line is dropped
    dropped_empty: int = 0            # every character is out of the dictionary: dropped
    max_length: int = 0
    out_of_dict_chars: Counter = field(default_factory=Counter)  # character → lines with it
    too_long_examples: list = field(default_factory=list)        # the first few (name, label)

    def metrics(self):
        """Numbers only, for metrics/data.json."""
        return {"lines": self.lines, "out_of_dict_lines": self.out_of_dict_lines,
                "out_of_dict_distinct_chars": len(self.out_of_dict_chars),
                "altered_lines": self.altered_lines, "dropped_too_long": self.dropped_too_long,
                "dropped_empty": self.dropped_empty,
                "dropped_total": self.dropped_too_long + self.dropped_empty,
                "max_length": self.max_length}


def classes_of(dictionary_chars, use_space_char):
    classes = set(dictionary_chars)
    if use_space_char:
        classes.add(" ")
    return classes


def check(samples, dictionary_chars, use_space_char, max_text_length, examples=5):
    """A LineCheck over ``samples`` = [(name, label)], label by label as CTCLabelEncode.encode."""
    classes = classes_of(dictionary_chars, use_space_char)
    result = LineCheck()
    for name, label in samples:
        result.lines += 1
        result.max_length = max(result.max_length, len(label))
        missing = {ch for ch in label if ch not in classes}
        if missing:
            result.out_of_dict_lines += 1
            result.out_of_dict_chars.update(missing)
        if len(label) > max_text_length:
            result.dropped_too_long += 1
            if len(result.too_long_examples) < examples:
                result.too_long_examples.append((name, label))
        elif not label or set(label) <= missing:
            result.dropped_empty += 1
        elif missing:
            result.altered_lines += 1
    return result
