"""The competition's label CSVs: encoding detection, the two column layouts, label clean-up.

Accepted: ``name,value`` or ``width,height,name,value`` (header names in any case and order; other
columns are ignored), UTF-8 with or without a BOM, else GB18030 (a superset of GB2312 and GBK),
quoted fields, blank lines and Windows line endings. Labels are kept exactly as given, except
that tabs and line breaks become a space and other control characters (NUL...) are dropped.
"""

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from linerec.errors import PipelineError

REQUIRED_COLUMNS = ("name", "value")
ENCODING_FIX = "open it in a text editor and save it as UTF-8 (or GB18030), then run again"
HEADER_FIX = "make the first line 'name,value' (or 'width,height,name,value' for the 4-column form)"

# Everything str.splitlines() treats as a line break, plus the tab: each becomes one space.
_BREAKS = re.compile("\r\n|[\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class LabelRow:
    line: int    # the CSV line the row starts on (the header is line 1)
    name: str
    value: str


@dataclass
class LabelTable:
    path: str
    encoding: str        # utf-8, utf-8-sig (with a BOM) or gb18030
    columns: tuple
    rows: list
    blank_rows: int


def decode_bytes(data, where):
    """(text, encoding): UTF-8 (a BOM is removed), else GB18030; a clear error otherwise."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise PipelineError("is UTF-16 encoded (it starts with a UTF-16 byte order mark)",
                            where=where, fix=ENCODING_FIX)
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as error:
            _undecodable(data, error.start + len(codecs.BOM_UTF8), "UTF-8 (it has a UTF-8 BOM)",
                         where)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    if _mostly_utf8(data):
        # GB18030 would accept most of these bytes too, as mojibake: a broken UTF-8 file.
        _undecodable(data, utf8_error.start, "UTF-8 (most of the file is UTF-8)", where)
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as error:
        if utf8_error.start > error.start:
            _undecodable(data, utf8_error.start, "UTF-8 or GB18030 (read as UTF-8)", where)
        _undecodable(data, error.start, "UTF-8 or GB18030 (read as GB18030)", where)


def _mostly_utf8(data):
    """Many valid multi-byte UTF-8 characters and few invalid bytes: UTF-8 with damage."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F and ch != "\ufffd")
    return good > 4 * bad


def _undecodable(data, offset, tried, where):
    line = data.count(b"\n", 0, offset) + 1
    raise PipelineError(
        f"cannot be decoded as {tried}: byte 0x{data[offset]:02x} at line {line}, "
        f"byte offset {offset}", where=where, fix=ENCODING_FIX)


def read_label_csv(path):
    """Reads a label CSV (opened read-only) into a LabelTable; structural faults are errors."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError("file not found", where=str(path),
                            fix="put the competition's label CSV there, or set data.raw_dir")
    text, encoding = decode_bytes(path.read_bytes(), str(path))
    columns, rows, blank = parse_csv_text(text, str(path))
    return LabelTable(str(path), encoding, columns, rows, blank)


def parse_csv_text(text, where):
    """(columns, [LabelRow], blank_rows) from decoded CSV text."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header, rows, blank = None, [], 0
    name_at = value_at = None
    line = 0
    try:
        for fields in reader:
            start, line = line + 1, reader.line_num
            if not any(field.strip() for field in fields):
                blank += 1
                continue
            if header is None:
                header = tuple(field.strip().strip("\ufeff").lower() for field in fields)
                missing = [c for c in REQUIRED_COLUMNS if c not in header]
                if missing:
                    raise PipelineError(
                        f"the header has no {' and no '.join(repr(c) for c in missing)} column "
                        f"(found {', '.join(repr(f) for f in fields)})",
                        where=f"{where}: line {start}", fix=HEADER_FIX)
                name_at, value_at = header.index("name"), header.index("value")
                continue
            if len(fields) != len(header):
                raise PipelineError(
                    f"{len(fields)} fields where the header has {len(header)} "
                    f"({', '.join(header)})", where=f"{where}: line {start}",
                    fix="quote a value that contains a comma (\"a,b\") and double any quote "
                        "inside it (\"say \"\"hi\"\"\"), or remove the stray row")
            rows.append(LabelRow(start, fields[name_at], fields[value_at]))
    except csv.Error as error:
        raise PipelineError(f"not valid CSV: {error}", where=f"{where}: line {reader.line_num}",
                            fix="check the quotes on that line") from error
    if header is None:
        raise PipelineError("the file is empty", where=where, fix=HEADER_FIX)
    return header, rows, blank


def clean_label(value):
    """(label, note): tabs/line breaks → one space, other control characters dropped.

    ``note`` says what changed ('' when nothing did). Nothing else is touched: full-width forms,
    spaces and case stay as given.
    """
    label, breaks = _BREAKS.subn(" ", value)
    kept = "".join(ch for ch in label if unicodedata.category(ch) != "Cc")
    dropped = len(label) - len(kept)
    notes = []
    if breaks:
        notes.append(f"{breaks} tab/line break(s) replaced by a space")
    if dropped:
        notes.append(f"{dropped} control character(s) dropped")
    return kept, "; ".join(notes)


def collect_labels(table, problems, where=None):
    """{name: LabelRow} in CSV order, with every row-level problem logged.

    Rules: an empty name is skipped; a repeated name keeps its first row; a label is cleaned
    (clean_label) and skipped when nothing but spaces is left.
    """
    where = where or table.path
    labels, first_line = {}, {}
    for row in table.rows:
        if not row.name.strip():
            problems.add(where, row.line, "empty_name", f"value {row.value!r}", "row skipped")
            continue
        if row.name in first_line:
            problems.add(where, row.line, "duplicate_name",
                         f"{row.name!r} is also on line {first_line[row.name]}",
                         f"row skipped (line {first_line[row.name]}, the first, is used)")
            continue
        first_line[row.name] = row.line
        label, note = clean_label(row.value)
        if note:
            problems.add(where, row.line, "label_control_chars",
                         f"{row.name}: {row.value!r}: {note}",
                         f"label used as {label!r}" if label.strip() else "see empty_label")
        if not label.strip():
            problems.add(where, row.line, "empty_label", f"{row.name}: {row.value!r}",
                         "row skipped (an image without text cannot be learnt)")
            continue
        labels[row.name] = LabelRow(row.line, row.name, label)
    return labels
