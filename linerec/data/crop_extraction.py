"""The extract stage for a folder of the user's own crops (data.layout paddleocr, csv, filenames).

Writes the same data/extracted folder as the competition's files give (see extraction.py), so
split, train and evaluate cannot tell the two apart. The training crops come from
crop_folder.read_crop_folder; the test crops, unlabelled, from the subfolder ``data.test_dir``
of data.raw_dir (kept inside it so that DVC's dependency on data.raw_dir covers it). A missing
test folder means no test images: test_images.txt is written empty, test_images/ holds only a
note (NO_TEST_IMAGES.txt), and predict and submit write empty outputs. Images are copied byte
for byte; a crop in a subfolder is named by its path with ``__`` for each ``/`` (``a/b.jpg`` →
``a__b.jpg``).
"""

from pathlib import Path, PurePosixPath

from linerec.atomic import atomic_dir, write_json, write_text
from linerec.data import images
from linerec.data.archive import MB, size_text
from linerec.data.crop_folder import is_image_name, read_crop_folder, walk_files
from linerec.data.extraction import TEST_KEPT, write_new
from linerec.data.paths import (PROBLEMS, REPORT, TEST_IMAGES, TEST_LIST, TRAIN_IMAGES,
                                TRAIN_LABELS)
from linerec.data.problems import ProblemLog
from linerec.errors import PipelineError

NO_TEST_IMAGES = "NO_TEST_IMAGES.txt"

def extract_crops(settings, layout, reason):
    """Runs the extraction of a crop folder; returns the report (also written as report.json)."""
    raw = Path(settings.raw_dir)
    test_dir = test_folder(settings.test_dir)
    crops = read_crop_folder(raw, layout, settings.label_file or None, settings.filename_label,
                             settings.max_image_mb, exclude=[test_dir] if test_dir else ())
    test_log = ProblemLog()
    with atomic_dir(settings.out_dir) as tmp:
        train = _write_train(crops, tmp)
        test = _write_test(raw, test_dir, tmp, settings.max_image_mb, test_log)
        report = {
            "raw_dir": str(raw),
            "layout": crops.layout,
            "layout_reason": reason,
            "encoding": {crops.label_file.name: crops.encoding} if crops.label_file else {},
            "train": {**train, "problems": crops.problems.counts()},
            "test": {**test, "problems": test_log.counts()},
            "problems_total": len(crops.problems) + len(test_log),
        }
        log = ProblemLog()
        log.problems = crops.problems.problems + test_log.problems
        write_text(tmp / PROBLEMS, log.to_tsv())
        write_json(tmp / REPORT, report)
    return report


def test_folder(test_dir):
    """data.test_dir as a relative POSIX path inside data.raw_dir, or None for ''."""
    if not test_dir:
        return None
    path = PurePosixPath(test_dir.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or str(path) == ".":
        raise PipelineError(f"{test_dir!r} is not a subfolder of data.raw_dir",
                            where="params.yaml: data.test_dir",
                            fix="put the test crops in a subfolder of data.raw_dir (e.g. test) "
                                "and set data.test_dir to its name, or to '' for none")
    return path.as_posix()


def flat_name(relative):
    return relative.replace("/", "__")


def _write_train(crops, out):
    image_dir = out / TRAIN_IMAGES
    image_dir.mkdir()
    lines = []
    for path, label in crops.samples:
        relative = crops.names[path]
        if not write_new(image_dir / flat_name(relative), path.read_bytes()):
            crops.problems.add(crops.root, relative, "name_collision",
                               f"becomes {flat_name(relative)!r}, like a crop before it",
                               "skipped (the first is used)")
            continue
        lines.append(f"{flat_name(relative)}\t{label}\n")
    write_text(out / TRAIN_LABELS, "".join(lines))
    return {"label_rows": crops.label_rows, "blank_rows": crops.blank_rows,
            "images": crops.image_files, "labelled": len(lines)}


def _write_test(raw, test_dir, out, max_image_mb, log):
    image_dir = out / TEST_IMAGES
    image_dir.mkdir()
    folder = raw / test_dir if test_dir else None
    listed, decodable = [], 0
    if folder is not None and folder.is_dir():
        real_root = folder.resolve()
        where = str(folder)
        for relative in walk_files(folder):
            if not is_image_name(relative):
                log.add(where, relative, "not_an_image", "not an image file name", "ignored")
                continue
            path = folder / relative
            if not path.resolve().is_relative_to(real_root):
                log.add(where, relative, "unsafe_path", "a symbolic link to outside the folder",
                        "skipped (never opened)")
                continue
            size = path.stat().st_size
            too_large = size > max_image_mb * MB
            try:
                # A too-large image is listed all the same, as an empty file nothing decodes.
                data = b"" if too_large else path.read_bytes()
            except OSError as error:
                log.add(where, relative, "unreadable_image", error.strerror or str(error),
                        "skipped")
                continue
            if not write_new(image_dir / flat_name(relative), data):
                log.add(where, relative, "name_collision",
                        f"becomes {flat_name(relative)!r}, like a crop before it", "skipped")
                continue
            listed.append(flat_name(relative))
            if too_large:
                log.add(where, relative, "image_too_large",
                        f"{size_text(size)}, over extract.max_image_mb",
                        f"written as an empty file; {TEST_KEPT}")
                continue
            problem = images.check_image(data)
            if problem:
                log.add(where, relative, problem.kind, problem.detail, TEST_KEPT)
            else:
                decodable += 1
    if not listed:
        # DVC does not restore an empty folder from its cache (dvc checkout, dvc pull), and
        # predict depends on this one: a note keeps it, and tells a reader why it is empty.
        write_text(image_dir / NO_TEST_IMAGES,
                   f"No test images: {folder if folder is not None else 'data.test_dir is empty'}"
                   " holds none. predict and submit write empty outputs.\n")
    write_text(out / TEST_LIST, "".join(f"{name}\n" for name in listed))
    return {"test_dir": str(folder) if folder is not None else "", "images": len(listed),
            "decodable": decodable}

