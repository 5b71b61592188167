"""A log of data problems: each one names its file, its CSV line or zip member, and what was done.

Written as ``problems.tsv`` (header ``file<TAB>row<TAB>problem<TAB>action``) and counted by kind
in ``report.json``. ``row`` is the CSV line number (the header is line 1), the label file's line
number, the zip member's path or the file's path inside a crop folder.
"""

import unicodedata
from collections import Counter
from dataclasses import dataclass

# Every kind the extract stage can report, so that report.json lists zeros too.
KINDS = (
    # label CSV rows
    "empty_name",            # a row without an image name: skipped
    "duplicate_name",        # a name seen on an earlier row: the first row is kept
    "label_control_chars",   # tabs/newlines became spaces, other control characters were dropped
    "empty_label",           # nothing (or only spaces) left to learn: skipped
    "missing_image",         # the row's image is not in the zip (or the crop folder): skipped
    # label TSV rows (a crop folder in PaddleOCR's layout)
    "missing_field",         # a line without a tab: skipped
    "extra_field",           # a line with two or more tabs: skipped (the text is ambiguous)
    # zip members
    "unsafe_path",           # '..', absolute path, drive letter, control characters or a symlink
    "os_junk",               # __MACOSX/, ._*, .DS_Store, Thumbs.db, desktop.ini: skipped
    "name_collision",        # two members flatten to one file name: the first is kept
    "unlabelled_image",      # a training image without a label row: skipped
    "image_too_large",       # bigger than extract.max_image_mb: skipped
    "empty_image",           # a zero-byte file: skipped (test images: still listed)
    "undecodable_image",     # OpenCV cannot decode it: skipped (test images: still listed)
    "truncated_image",       # a JPEG that ends before its end marker: skipped (test: listed)
    # files of a crop folder
    "unreadable_image",      # the file system refused to read it: skipped
    "not_an_image",          # a file that is neither an image nor a label/documentation file
)


@dataclass(frozen=True)
class Problem:
    file: str
    row: str
    kind: str
    detail: str
    action: str


def printable(text):
    """One TSV cell: control characters (tabs, newlines, NUL...) shown as escapes."""
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in str(text))


class ProblemLog:
    def __init__(self):
        self.problems = []

    def add(self, file, row, kind, detail, action):
        if kind not in KINDS:
            raise ValueError(f"unknown problem kind {kind!r}")
        self.problems.append(Problem(str(file), str(row), kind, detail, action))

    def __len__(self):
        return len(self.problems)

    def counts(self, file=None):
        """Every kind with its count (zeros included), optionally for one file only."""
        counter = Counter(p.kind for p in self.problems if file is None or p.file == str(file))
        return {kind: counter.get(kind, 0) for kind in KINDS}

    def to_tsv(self):
        lines = ["file\trow\tproblem\taction"]
        for p in self.problems:
            problem = f"{p.kind}: {p.detail}" if p.detail else p.kind
            lines.append("\t".join(printable(cell) for cell in (p.file, p.row, problem, p.action)))
        return "\n".join(lines) + "\n"
