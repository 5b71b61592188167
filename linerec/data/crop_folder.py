"""A folder of text-line crops with their labels → [(absolute image path, label)] and problems.

Layouts (``layout``; ``auto`` picks the first that fits, in this order, and says why):
  competition  train_images.zip or test_images.zip in the folder: the competition's files,
               read by linerec.data.extraction, not here.
  paddleocr    a label file of ``image<TAB>text`` lines, PaddleOCR's rec_gt format: ``label_file``,
               else the first of labels.tsv, rec_gt_train.txt, label.txt. Image paths are
               relative to the folder (subfolders and ``\\`` separators allowed). A line must
               hold exactly one tab: with two or more (a tab inside the text, or a third column)
               the text is ambiguous, so the row is skipped (extra_field; PaddleOCR itself would
               keep only the text up to the second tab); a line without a tab, such as the rest of
               a label broken by a newline, is skipped (missing_field).
  csv          the competition's label CSV (``name,value`` or ``width,height,name,value``) beside
               loose image files: ``label_file``, else train_label.csv or labels.csv.
  filenames    no label file: every image under the folder, labelled by its file name without
               the extension, matched whole by the regular expression ``filename_label``; its
               group ``label`` is the text. The default reads ``皖AD8676.jpg`` and
               ``皖AD8676_1.jpg`` (a second crop of the same text: both kept) as 皖AD8676. Set
               ``\\d+_(?P<label>.+)`` for ``<number>_<text>.jpg``.
Label files may be UTF-8 (with or without a BOM) or GB18030. Every label row then follows the
competition CSV's rules (labels.collect_labels): a repeated image keeps its first row, tabs and
line breaks in a label become a space, other control characters are dropped, an empty label is
skipped. A path that leaves the folder (``..``, absolute, a drive letter, a symbolic link to
outside) is never opened (unsafe_path). Files that no row names are reported: images as
unlabelled_image, anything else as not_an_image, except label and documentation files (.txt,
.tsv, .csv, .md, LICENSE*, README*) and hidden ones. Nothing in the folder is ever written.

Importing this module has no side effects; ``read_crop_folder`` only reads.
"""

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from linerec.data import images, labels
from linerec.data.archive import MB, size_text
from linerec.data.problems import ProblemLog
from linerec.errors import PipelineError

LAYOUTS = ("auto", "competition", "paddleocr", "csv", "filenames")
PADDLEOCR_LABEL_FILES = ("labels.tsv", "rec_gt_train.txt", "label.txt")
CSV_LABEL_FILES = ("train_label.csv", "labels.csv")
COMPETITION_FILES = ("train_images.zip", "test_images.zip")
DEFAULT_FILENAME_LABEL = r"(?P<label>[^_]+)(_.*)?"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_QUIET_SUFFIXES = (".txt", ".tsv", ".csv", ".md")
_QUIET_PREFIXES = ("license", "licence", "readme", "copying")
_DRIVE = re.compile(r"^[A-Za-z]:")
_LAYOUT_FIX = ("put labels.tsv (image<TAB>text lines) or train_label.csv beside the crops, or "
               "name each crop after its text, or point data.raw_dir at the folder that has them")


@dataclass
class CropFolder:
    root: Path                     # the folder, absolute
    layout: str                    # paddleocr, csv or filenames
    reason: str                    # why this layout: what auto found, or that it was asked for
    samples: list                  # [(absolute image Path, label)], label-file order or by path
    problems: ProblemLog
    label_file: Path = None        # the label file read (none for filenames)
    encoding: str = None           # the label file's encoding
    label_rows: int = 0            # non-blank label lines (filenames: image files)
    blank_rows: int = 0
    image_files: int = 0           # image files found under the folder
    names: dict = field(default_factory=dict)   # absolute path → path relative to the folder


def is_image_name(name):
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def detect_layout(folder, label_file=None):
    """(layout, reason) for a folder; a clear error for a missing or empty one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PipelineError("folder not found", where=str(folder),
                            fix="put the competition files or your crops there (dvc repro "
                                "sample builds the sample), or point data.raw_dir at the folder "
                                "that has them")
    zips = [name for name in COMPETITION_FILES if (folder / name).is_file()]
    if zips:
        return "competition", f"found {', '.join(zips)}"
    if label_file:
        _check_label_file(label_file)
        if not (folder / label_file).is_file():
            raise PipelineError(f"label file {label_file!r} not found", where=str(folder),
                                fix="set data.label_file to the label file's name in that "
                                    "folder, or to '' to let auto find it")
        kind = "csv" if label_file.lower().endswith(".csv") else "paddleocr"
        return kind, f"data.label_file is {label_file} ({'.csv' if kind == 'csv' else 'not .csv'})"
    for name in PADDLEOCR_LABEL_FILES:
        if (folder / name).is_file():
            return "paddleocr", f"found {name} (image<TAB>text lines)"
    for name in CSV_LABEL_FILES:
        if (folder / name).is_file():
            return "csv", f"found {name} (name,value CSV) and no PaddleOCR label file"
    if any(is_image_name(path) for path in walk_files(folder)):
        return "filenames", "no label file and no competition zip; image files are named by text"
    raise PipelineError(
        "no competition zip, no label file and no image file", where=str(folder),
        fix=_LAYOUT_FIX)


def walk_files(folder, exclude=()):
    """Relative POSIX paths of the files under ``folder``, sorted; hidden entries and the
    relative folders in ``exclude`` left out. Symbolic links to folders are not followed."""
    folder = Path(folder)
    skip = {Path(part).as_posix().strip("/") for part in exclude}
    found = []
    for parent, dirs, files in os.walk(folder):
        relative = Path(parent).relative_to(folder).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        dirs[:] = [d for d in dirs if not d.startswith(".") and f"{prefix}{d}" not in skip]
        found += [f"{prefix}{name}" for name in files if not name.startswith(".")]
    return sorted(found)


def read_crop_folder(folder, layout="auto", label_file=None, filename_label=DEFAULT_FILENAME_LABEL,
                     max_image_mb=64.0, exclude=(), check_images=True):
    """Reads a crop folder (see the module's docstring) into a CropFolder.

    ``exclude``: subfolders (relative) that are not training crops, e.g. a test folder inside.
    ``check_images``: decode every image, so that only usable crops become samples.
    Folder-level faults (no folder, nothing in it, an undecodable label file, no usable sample)
    raise PipelineError; row- and file-level ones become problems.
    """
    folder = Path(folder)
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r} is not one of {LAYOUTS}")
    if layout == "auto":
        layout, reason = detect_layout(folder, label_file)
    else:
        if not folder.is_dir():
            detect_layout(folder)
        reason = "set by data.layout"
    if layout == "competition":
        raise PipelineError("holds the competition's zips, not loose crops", where=str(folder),
                            fix="read it with the extract stage (data.layout: competition)")
    reader = _Reader(folder, max_image_mb, exclude, check_images)
    if layout == "filenames":
        reader.read_filenames(filename_label)
    else:
        reader.read_label_file(layout, label_file)
    result = reader.result(layout, reason)
    if not result.samples:
        first = "".join(f"\n    {p.file}: {p.row}: {p.kind}: {p.detail}"
                        for p in result.problems.problems[:3])
        raise PipelineError(f"no usable crop ({layout} layout, {reason})",
                            where=str(result.label_file or folder),
                            fix="check the folder against the layout's rules (README: Your own "
                                "crops); the first problems found:" + first)
    return result


class _Reader:
    def __init__(self, folder, max_image_mb, exclude, check_images):
        self.folder = folder
        self.root = folder.absolute()
        self.real_root = folder.resolve()
        self.max_bytes = int(max_image_mb * MB)
        self.check_images = check_images
        self.files = walk_files(folder, exclude)
        self.log = ProblemLog()
        self.samples, self.names, self.named = [], {}, set()
        self.label_path = self.encoding = None
        self.label_rows = self.blank_rows = 0

    def read_label_file(self, layout, label_file):
        defaults = PADDLEOCR_LABEL_FILES if layout == "paddleocr" else CSV_LABEL_FILES
        if label_file:
            _check_label_file(label_file)
        wanted = [label_file] if label_file else defaults
        names = [name for name in wanted if (self.folder / name).is_file()]
        if not names:
            raise PipelineError(
                f"no {layout} label file (looked for {', '.join(wanted)})", where=str(self.folder),
                fix="set data.label_file to its name, or data.layout to the folder's layout")
        self.label_path = self.folder / names[0]
        where = str(self.label_path)
        if layout == "csv":
            table = labels.read_label_csv(self.label_path)
        else:
            table = self._read_tsv(self.label_path)
        self.encoding = table.encoding
        self.label_rows, self.blank_rows = len(table.rows), table.blank_rows
        self.named.add(self.label_path.relative_to(self.folder).as_posix())
        for row in table.rows:
            self.named.add(_normal(row.name))
        seen = {}
        for row in labels.collect_labels(table, self.log, where).values():
            relative = _normal(row.name)
            if relative in seen:
                self.log.add(where, row.line, "duplicate_name",
                             f"{row.name!r} is {relative!r}, also on line {seen[relative]}",
                             f"row skipped (line {seen[relative]}, the first, is used)")
                continue
            seen[relative] = row.line
            self._take(row.name, relative, row.value, where, row.line,
                       f"skipped, with its label row (line {row.line})")
        self._report_unnamed(f"no row for it in {self.label_path.name}")

    def _read_tsv(self, path):
        text, encoding = labels.decode_bytes(path.read_bytes(), str(path))
        rows, blank = [], 0
        # The final line break ends the last line; it does not start a blank one.
        for number, line in enumerate(text.removesuffix("\n").split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line.strip():
                blank += 1
                continue
            fields = line.split("\t")
            if len(fields) == 1:
                self.log.add(path, number, "missing_field",
                             f"{line!r} has no tab (expected image<TAB>text; a label broken "
                             "by a newline continues on such a line)", "row skipped")
            elif len(fields) > 2:
                self.log.add(path, number, "extra_field",
                             f"{len(fields) - 1} tabs in {line!r} (a tab in the text, or a "
                             "third column): the text is ambiguous", "row skipped")
                self.named.add(_normal(fields[0]))   # its row says why; not "unlabelled" too
            else:
                rows.append(labels.LabelRow(number, fields[0], fields[1]))
        return labels.LabelTable(str(path), encoding, ("image", "text"), rows, blank)

    def read_filenames(self, pattern):
        try:
            rule = re.compile(pattern)
        except re.error as error:
            raise PipelineError(f"not a valid regular expression ({error})",
                                where=f"data.filename_label = {pattern!r}",
                                fix="fix the expression; its group 'label' is the text") from None
        if "label" not in rule.groupindex:
            raise PipelineError("has no group named 'label'",
                                where=f"data.filename_label = {pattern!r}",
                                fix="mark the text with (?P<label>...)")
        where = str(self.folder)
        for relative in self.files:
            if not is_image_name(relative):
                continue
            self.label_rows += 1
            self.named.add(relative)
            # macOS stores names decomposed (NFD); labels elsewhere are composed.
            stem = unicodedata.normalize("NFC", os.path.splitext(relative.rsplit("/", 1)[-1])[0])
            match = rule.fullmatch(stem)
            if not match or match.group("label") is None:
                self.log.add(where, relative, "unlabelled_image",
                             f"its name does not match data.filename_label = {pattern!r}",
                             "skipped")
                continue
            label, note = labels.clean_label(match.group("label"))
            if note:
                self.log.add(where, relative, "label_control_chars", note,
                             f"label used as {label!r}" if label.strip() else "see empty_label")
            if not label.strip():
                self.log.add(where, relative, "empty_label", f"{stem!r} gives no text",
                             "skipped (an image without text cannot be learnt)")
                continue
            self._take(relative, relative, label, where, relative, "skipped")
        self._report_unnamed(None)

    def _take(self, given, relative, label, where, row, skipped):
        """Checks one labelled image and keeps it as a sample, or logs why not."""
        unsafe = _unsafe(given)
        path = self.root / relative
        if not unsafe:
            try:
                path.resolve().relative_to(self.real_root)
            except ValueError:
                unsafe = "a symbolic link to outside the folder"
        if unsafe:
            self.log.add(where, row, "unsafe_path", f"{given!r}: {unsafe}",
                         "row skipped (the path was never opened)")
            return
        if not path.is_file():
            self.log.add(where, row, "missing_image", f"{given!r} is not a file in {self.folder}",
                         "row skipped")
            return
        size = path.stat().st_size
        if size > self.max_bytes:
            self.log.add(where, row, "image_too_large",
                         f"{given!r}: {size_text(size)}, over extract.max_image_mb = "
                         f"{size_text(self.max_bytes)}", skipped)
            return
        if self.check_images:
            try:
                data = path.read_bytes()
            except OSError as error:
                self.log.add(where, row, "unreadable_image",
                             f"{given!r}: {error.strerror or type(error).__name__}", skipped)
                return
            problem = images.check_image(data)
            if problem:
                self.log.add(where, row, problem.kind, f"{given!r}: {problem.detail}", skipped)
                return
        self.samples.append((path, label))
        self.names[path] = relative

    def _report_unnamed(self, why_unlabelled):
        for relative in self.files:
            if relative in self.named:
                continue
            if is_image_name(relative):
                if why_unlabelled:
                    self.log.add(self.folder, relative, "unlabelled_image", why_unlabelled,
                                 "skipped")
            elif not _quiet(relative):
                self.log.add(self.folder, relative, "not_an_image",
                             f"not one of {' '.join(IMAGE_EXTENSIONS)}", "ignored")

    def result(self, layout, reason):
        return CropFolder(self.root, layout, reason, self.samples, self.log, self.label_path,
                          self.encoding, self.label_rows, self.blank_rows,
                          sum(1 for name in self.files if is_image_name(name)), self.names)


def _check_label_file(label_file):
    """The label file must be inside the folder, like the crops: DVC tracks only the folder."""
    unsafe = _unsafe(label_file)
    if unsafe:
        raise PipelineError(f"{label_file!r}: {unsafe}", where="data.label_file",
                            fix="put the label file inside data.raw_dir and give its path "
                                "relative to that folder")


def _normal(path):
    """The path as a key: POSIX separators, no ``.`` parts (``./a.jpg`` is ``a.jpg``)."""
    parts = [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]
    return "/".join(parts)


def _unsafe(path):
    """Why a label row's path cannot be opened inside the folder; '' when it can."""
    unix = path.replace("\\", "/")
    if unix.startswith("/"):
        return "absolute path"
    if _DRIVE.match(unix):
        return "Windows drive letter"
    if ".." in unix.split("/"):
        return "'..' in its path"
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in path):
        return "control character in its name"
    if not _normal(path):
        return "no file name"
    return ""


def _quiet(relative):
    name = relative.rsplit("/", 1)[-1].lower()
    return name.endswith(_QUIET_SUFFIXES) or name.startswith(_QUIET_PREFIXES)
