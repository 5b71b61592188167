"""The extract stage: raw competition files → data/extracted, every problem logged. (A folder of
the user's own crops goes through crop_extraction.py into the same output.)

Output folder (built in a temporary folder and swapped in whole):
  train_images/      the labelled, decodable training images, flat, by name
  test_images/       every test image, flat, by name (undecodable ones too)
  train_labels.tsv   ``name<TAB>label`` per line, UTF-8, no header, in CSV order
  test_images.txt    one test image name per line, in archive order
  test_labels.tsv    as train_labels.tsv, only when test_label.csv exists
  problems.tsv       ``file<TAB>row<TAB>problem<TAB>action`` (see linerec.data.problems)
  report.json        counts, problems by kind, and each CSV's encoding
The raw files are only ever opened for reading.
"""

from dataclasses import dataclass
from pathlib import Path

from linerec.atomic import atomic_dir, write_json, write_text
from linerec.data import images, labels
from linerec.data.archive import MB, SafeZip
from linerec.data.crop_folder import DEFAULT_FILENAME_LABEL, LAYOUTS
from linerec.data.paths import (EXTRACTED_DIR, PROBLEMS, REPORT, TEST_CSV, TEST_IMAGES,
                                TEST_LABELS, TEST_LIST, TEST_ZIP, TRAIN_CSV, TRAIN_IMAGES,
                                TRAIN_LABELS, TRAIN_ZIP)
from linerec.data.problems import ProblemLog
from linerec.errors import PipelineError

TEST_KEPT = "listed in test_images.txt (the predictor gives it an empty prediction)"


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    out_dir: Path = EXTRACTED_DIR
    max_unpacked_mb: float = 4096.0
    max_image_mb: float = 64.0
    # A crop folder's layout and how to read it (crop_folder.py); competition ignores them.
    layout: str = "auto"
    label_file: str = ""
    filename_label: str = DEFAULT_FILENAME_LABEL
    test_dir: str = "test"


def extract(settings, layout_reason="set by data.layout"):
    """Runs the whole extraction; returns the report (also written as report.json)."""
    raw = Path(settings.raw_dir)
    required = [raw / TRAIN_ZIP, raw / TRAIN_CSV, raw / TEST_ZIP]
    missing = [p.name for p in required if not p.is_file()]
    if missing:
        raise PipelineError(f"missing {', '.join(missing)}", where=str(raw),
                            fix="put the competition files there (or build the sample), or point "
                                "data.raw_dir in params.yaml at the folder that has them")
    # The CSVs first: a broken CSV fails in seconds, before gigabytes are unpacked.
    train_table = labels.read_label_csv(raw / TRAIN_CSV)
    test_table = labels.read_label_csv(raw / TEST_CSV) if (raw / TEST_CSV).is_file() else None
    limits = (int(settings.max_unpacked_mb * MB), int(settings.max_image_mb * MB))
    train_log, test_log = ProblemLog(), ProblemLog()
    with atomic_dir(settings.out_dir) as tmp:
        train = _extract_train(raw, train_table, tmp, limits, train_log)
        test = _extract_test(raw, test_table, tmp, limits, test_log)
        report = {
            "raw_dir": str(raw),
            "layout": "competition",
            "layout_reason": layout_reason,
            "encoding": {TRAIN_CSV: train_table.encoding,
                         **({TEST_CSV: test_table.encoding} if test_table else {})},
            "train": {**train, "problems": train_log.counts()},
            "test": {**test, "problems": test_log.counts()},
            "problems_total": len(train_log) + len(test_log),
        }
        log = ProblemLog()
        log.problems = train_log.problems + test_log.problems
        write_text(tmp / PROBLEMS, log.to_tsv())
        write_json(tmp / REPORT, report)
    return report


def _extract_train(raw, table, out, limits, log):
    csv_where, zip_where = str(raw / TRAIN_CSV), str(raw / TRAIN_ZIP)
    wanted = labels.collect_labels(table, log, csv_where)
    first_lines = _first_lines(table)
    image_dir = out / TRAIN_IMAGES
    image_dir.mkdir()
    written, skipped, members = set(), {}, 0
    with SafeZip(raw / TRAIN_ZIP, *limits) as archive:
        for entry in archive.entries:
            members += 1
            if entry.problem:
                log.add(zip_where, entry.path, *entry.problem)
                skipped.setdefault(entry.name, entry.problem[0])
                continue
            if entry.name not in wanted:
                log.add(zip_where, entry.path, "unlabelled_image",
                        _why_unlabelled(entry.name, first_lines, TRAIN_CSV), "skipped")
                continue
            data = archive.read(entry)
            problem = images.check_image(data)
            if problem:
                log.add(zip_where, entry.path, problem.kind, problem.detail,
                        f"skipped, with its label row (line {wanted[entry.name].line})")
                skipped[entry.name] = problem.kind
                continue
            if not write_new(image_dir / entry.name, data):
                log.add(zip_where, entry.path, "name_collision",
                        "the file system ignores case and already has this name", "skipped")
                skipped[entry.name] = "name_collision"
                continue
            written.add(entry.name)
    lines = []
    for name, row in wanted.items():
        if name in written:
            lines.append(f"{name}\t{row.value}\n")
        elif name not in skipped:
            log.add(csv_where, row.line, "missing_image", f"{name!r} is not in {TRAIN_ZIP}",
                    "row skipped")
        elif skipped[name] in ("unsafe_path", "os_junk", "image_too_large"):
            log.add(csv_where, row.line, "missing_image",
                    f"{name!r} is in {TRAIN_ZIP} only as a skipped member ({skipped[name]})",
                    "row skipped")
    if not lines:
        raise PipelineError(
            f"none of the {len(table.rows)} label rows matched a usable image in {TRAIN_ZIP}",
            where=csv_where, fix="check that the CSV's names are the zip's file names; "
                                 "the first problems found:" + _first_problems(log))
    write_text(out / TRAIN_LABELS, "".join(lines))
    return {"zip_members": members, "images": members - _count(log, zip_where, "unsafe_path",
                                                                "os_junk"),
            "label_rows": len(table.rows), "blank_rows": table.blank_rows,
            "labelled": len(lines)}


def _extract_test(raw, table, out, limits, log):
    zip_where = str(raw / TEST_ZIP)
    image_dir = out / TEST_IMAGES
    image_dir.mkdir()
    listed, decodable, members = [], 0, 0
    with SafeZip(raw / TEST_ZIP, *limits) as archive:
        for entry in archive.entries:
            members += 1
            if entry.problem and entry.problem[0] != "image_too_large":
                log.add(zip_where, entry.path, *entry.problem)
                continue
            # A too-large image is listed all the same, as an empty file nothing can decode.
            data = b"" if entry.problem else archive.read(entry)
            if not write_new(image_dir / entry.name, data):
                log.add(zip_where, entry.path, "name_collision",
                        "the file system ignores case and already has this name", "skipped")
                continue
            listed.append(entry.name)
            if entry.problem:
                log.add(zip_where, entry.path, entry.problem[0], entry.problem[1],
                        f"written as an empty file; {TEST_KEPT}")
                continue
            problem = images.check_image(data)
            if problem:
                log.add(zip_where, entry.path, problem.kind, problem.detail, TEST_KEPT)
            else:
                decodable += 1
    if not listed:
        raise PipelineError(f"no test image in {TEST_ZIP}", where=zip_where,
                            fix="download the competition's test_images.zip again")
    write_text(out / TEST_LIST, "".join(f"{name}\n" for name in listed))
    result = {"zip_members": members, "images": len(listed), "decodable": decodable}
    if table is not None:
        csv_where = str(raw / TEST_CSV)
        wanted = labels.collect_labels(table, log, csv_where)
        first_lines = _first_lines(table)
        present = set(listed)
        lines = []
        for name, row in wanted.items():
            if name in present:
                lines.append(f"{name}\t{row.value}\n")
            else:
                log.add(csv_where, row.line, "missing_image", f"{name!r} is not in {TEST_ZIP}",
                        "row skipped")
        for name in listed:
            if name not in wanted:
                log.add(zip_where, name, "unlabelled_image",
                        _why_unlabelled(name, first_lines, TEST_CSV), "listed, but not scored")
        write_text(out / TEST_LABELS, "".join(lines))
        result.update({"label_rows": len(table.rows), "blank_rows": table.blank_rows,
                       "labelled": len(lines)})
    return result


def _first_lines(table):
    lines = {}
    for row in table.rows:
        lines.setdefault(row.name, row.line)
    return lines


def _why_unlabelled(name, first_lines, csv_name):
    line = first_lines.get(name)
    if line is None:
        return f"no row for {name!r} in {csv_name}"
    return f"its row in {csv_name} (line {line}) was skipped: see that line's problem"


def write_new(path, data):
    """Writes a file that must not exist yet (a case-insensitive file system may say it does)."""
    try:
        with open(path, "xb") as handle:
            handle.write(data)
    except FileExistsError:
        return False
    return True


def _count(log, file, *kinds):
    return sum(1 for p in log.problems if p.file == file and p.kind in kinds)


def _first_problems(log, limit=3):
    shown = [f"\n    {p.file}: {p.row}: {p.kind}: {p.detail}" for p in log.problems[:limit]]
    return "".join(shown)


def summary(report, out_dir=EXTRACTED_DIR):
    """A few readable lines for the end of the stage."""
    train, test = report["train"], report["test"]
    encodings = ", ".join(f"{name} {enc}" for name, enc in report["encoding"].items())
    layout = report.get("layout", "competition")
    found_in = "in the zip" if layout == "competition" else "in the folder"
    rows = "file names" if layout == "filenames" else "label rows"
    lines = [
        f"extract: {report['raw_dir']} -> {out_dir}",
        f"  layout: {layout} ({report.get('layout_reason', 'set by data.layout')})",
        f"  train: {train['labelled']} labelled images (of {train['label_rows']} {rows} and "
        f"{train['images']} images {found_in})",
    ]
    if test["images"] or layout == "competition":
        lines.append(f"  test:  {test['images']} images listed, {test['decodable']} decodable"
                     + (f", {test['labelled']} with labels" if "labelled" in test else ""))
    else:
        where = test.get("test_dir")
        why = f"no image in {where}" if where else "data.test_dir is ''"
        lines.append(f"  test:  none ({why}); predict and submit will have nothing to do")
    if encodings:
        lines.append(f"  encoding: {encodings}")
    total = report["problems_total"]
    if total:
        lines.append(f"  problems: {total} (each with its file and row in {out_dir / PROBLEMS})")
        for part in ("train", "test"):
            for kind, count in report[part]["problems"].items():
                if count:
                    lines.append(f"    {part:5s} {kind:20s} {count}")
    else:
        lines.append("  problems: none")
    lines.append(f"  report: {out_dir / REPORT}")
    return "\n".join(lines)


def settings_from_params(params):
    data, extract_section = params.section("data"), params.section("extract")
    return Settings(
        raw_dir=Path(data.get("raw_dir", str)),
        max_unpacked_mb=extract_section.get("max_unpacked_mb", float, minimum=0.0),
        max_image_mb=extract_section.get("max_image_mb", float, default=64.0, minimum=0.0),
        # Defaults: a params.yaml written before crop folders existed reads as before.
        layout=data.get("layout", str, default="auto", choices=LAYOUTS),
        label_file=data.get("label_file", str, default=""),
        filename_label=data.get("filename_label", str, default=DEFAULT_FILENAME_LABEL),
        test_dir=data.get("test_dir", str, default="test"),
    )

