"""python -m linerec.recognize: any folder or list of crops through an exported model, as TSV."""

import os
import subprocess
import sys

import pytest

from linerec.inference.predictor import LinePredictor
from linerec.inference.preprocess import read_image
from tests.conftest import ROOT, render_line, run_stage
from tests.inference.test_export import fake_trained_model, write_params

# name in the folder → text rendered into it (None: not an image the recogniser can read)
CROPS = {"a.png": "12", "b.jpg": "345", "bad.jpg": None, "c.PNG": "67890", "sub/d.png": "1"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = tmp_path_factory.mktemp("recognize")
    (project / "dict.txt").write_text("\n".join("0123456789") + "\n", encoding="utf-8")
    fake_trained_model(project, project / "dict.txt")
    write_params(project, model="mobile", weights="float32")
    run_stage("export.py", cwd=project)
    crops = project / "crops"
    (crops / "sub").mkdir(parents=True)
    for name, text in CROPS.items():
        if text is None:
            (crops / name).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
        else:
            render_line(text).save(crops / name)
    (crops / "notes.txt").write_text("not an image\n")
    return project


def recognize(*args, cwd):
    return subprocess.run([sys.executable, "-m", "linerec.recognize", *map(str, args)], cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=300)


def parse(tsv):
    lines = tsv.splitlines()
    assert lines[0] == "image\ttext\tconfidence"
    return [line.split("\t") for line in lines[1:]]


def expected(project, paths):
    """What LinePredictor gives for the readable ones among ``paths`` (None for the others)."""
    images = [read_image(path) if path.exists() else None for path in paths]
    readable = [image for image in images if image is not None]
    with LinePredictor(project / "models/export", batch_size=8) as predictor:
        results = iter(predictor.predict(readable))
    return [next(results) if image is not None else None for image in images]


def check_rows(rows, names, wanted):
    assert [row[0] for row in rows] == names
    for (name, text, confidence), want in zip(rows, wanted):
        if want is None:
            assert (text, float(confidence)) == ("", 0.0), name
        else:
            assert text == want[0], name
            assert float(confidence) == pytest.approx(want[1], abs=1e-4)


def test_a_folder_recursively_to_stdout_in_path_order(project):
    result = recognize(project / "models/export", "crops", "--recursive", "--batch-size", "8",
                       cwd=project)
    assert result.returncode == 0, result.stderr
    names = sorted(CROPS)
    rows = parse(result.stdout)
    check_rows(rows, names, expected(project, [project / "crops" / n for n in names]))
    assert "bad.jpg" in result.stderr and "unreadable" in result.stderr
    assert "5 images, 1 unreadable" in result.stderr and "img/s" in result.stderr


def test_without_recursive_subfolders_and_other_files_are_left_out(project):
    from linerec.recognize import folder_images

    assert [name for name, _ in folder_images(project / "crops")] == \
        ["a.png", "b.jpg", "bad.jpg", "c.PNG"]


def test_a_list_file_keeps_its_order_and_names_and_writes_the_output_file(project):
    lists = project / "lists"
    lists.mkdir(exist_ok=True)
    absolute = project / "crops" / "c.PNG"
    (lists / "images.txt").write_text(
        f"../crops/sub/d.png\t1\n\n../crops/gone.png\n{absolute}\n../crops/a.png\n",
        encoding="utf-8")
    out = project / "out" / "result.tsv"
    result = recognize(project / "models/export", lists / "images.txt", "-o", out,
                       "--batch-size", "8", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    names = ["../crops/sub/d.png", "../crops/gone.png", str(absolute), "../crops/a.png"]
    rows = parse(out.read_text(encoding="utf-8"))
    check_rows(rows, names, expected(project, [lists / n for n in names]))
    assert "gone.png" in result.stderr and "4 images, 1 unreadable" in result.stderr


@pytest.mark.parametrize("case", ["no model folder", "no model files", "no input",
                                  "empty folder", "empty list"])
def test_errors_name_the_path_and_the_fix(project, tmp_path, case):
    model, source = project / "models/export", project / "crops"
    if case == "no model folder":
        model = at = tmp_path / "nowhere"
    elif case == "no model files":
        model = tmp_path
        at = tmp_path / "inference.pdmodel"
    elif case == "no input":
        source = at = tmp_path / "missing"
    elif case == "empty folder":
        source = at = tmp_path / "empty"
        source.mkdir()
        (source / "readme.txt").write_text("no crops here\n")
    else:
        source = at = tmp_path / "list.txt"
        source.write_text("\n  \n")
    result = recognize(model, source, cwd=project)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(at) in errors[0], result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    if case == "empty folder":
        assert ".jpg" in errors[0] and ".webp" in errors[0]


def test_each_engine_reads_the_same_and_one_without_its_file_is_a_clear_error(project, tmp_path):
    default = recognize("models/export", "crops", "--recursive", cwd=project)
    # auto: the fastest engine installed, which reads inference.onnx beside the program.
    assert "(openvino)" in default.stderr or "(onnxruntime)" in default.stderr, default.stderr
    paddle = recognize("models/export", "crops", "--recursive", "--engine", "paddle", cwd=project)
    assert "(paddle)" in paddle.stderr
    ours, reference = parse(default.stdout), parse(paddle.stdout)
    assert [row[:2] for row in ours] == [row[:2] for row in reference]
    assert [float(r[2]) for r in ours] == pytest.approx([float(r[2]) for r in reference], abs=1e-3)
    # An export without inference.onnx (written before it existed).
    old = tmp_path / "old"
    old.mkdir()
    for name in ("inference.pdmodel", "inference.pdiparams", "recognizer.json", "dict.txt"):
        (old / name).write_bytes((project / "models/export" / name).read_bytes())
    assert "(paddle)" in recognize(old, "crops", cwd=project).stderr
    failed = recognize(old, "crops", "--engine", "openvino", cwd=project)
    assert failed.returncode == 2
    assert f"error: {old / 'inference.onnx'}: the openvino engine needs inference.onnx" in failed.stderr
    assert "fix:" in failed.stderr and "Traceback" not in failed.stderr
