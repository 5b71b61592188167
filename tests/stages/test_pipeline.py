"""The whole DAG through `dvc repro` on a tiny embedded sample, in a fresh copy of the project:
every stage runs, the submission parses back, a second repro does nothing, and a params change
marks exactly the stages below it as changed."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from linerec import submission
from tests.conftest import copy_project

pytestmark = pytest.mark.slow

TINY = {
    "sample": {"num_train": 120, "num_test": 24, "max_chars": 4},
    "general": {"replay_lines": 8, "guard_lines": 12},
    "split": {"val_size": 24},
    "train_mobile": {"image_shape": [3, 32, 128], "epochs": 2, "batch_size": 16,
                     "eval_every_steps": 6, "log_every_steps": 2},
    "train_ppocrv4": {"max_steps": 2, "batch_size": 4, "eval_every_steps": 2,
                      "log_every_steps": 1},
    "train_ppocrv6": {"max_steps": 2, "batch_size": 4, "eval_every_steps": 2,
                      "log_every_steps": 1},
}
EVALUATIONS = {"evaluate@mobile", "evaluate@ppocrv4", "evaluate@ppocrv6",
               "evaluate_baseline@ppocrv4", "evaluate_baseline@ppocrv6-small",
               "evaluate_baseline@ppocrv6-tiny"}


def _dvc(project, *args, check=True):
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, env=env,
                            capture_output=True, text=True, timeout=1800)
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _set_params(project, changes):
    path = Path(project) / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in changes.items():
        params[section].update(values)
    path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _git(project, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=project,
                   check=True, capture_output=True)


def _changed_stages(project):
    status = json.loads(_dvc(project, "status", "--json").stdout or "{}")
    return set(status)


def _rerun_set(project):
    """What `dvc repro` would run: the changed stages and everything below them in the DAG."""
    edges = re.findall(r'"([^"]+)" -> "([^"]+)"', _dvc(project, "dag", "--dot").stdout)
    children = {}
    for parent, child in edges:
        children.setdefault(parent, set()).add(child)
    todo, seen = list(_changed_stages(project)), set()
    while todo:
        stage = todo.pop()
        if stage not in seen:
            seen.add(stage)
            todo.extend(children.get(stage, ()))
    return seen


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("pipeline"))
    _set_params(project, TINY)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "tiny sample")
    _dvc(project, "repro")
    return project


def test_every_stage_ran_and_the_submission_parses_back(project):
    names = (project / "data/extracted/test_images.txt").read_text(encoding="utf-8").split()
    assert len(names) == 24
    text = (project / "data/submission.txt").read_text(encoding="utf-8")
    parsed = submission.parse(text)
    submission.validate(parsed, names)
    scored = json.loads((project / "metrics/submit.json").read_text())
    assert json.loads((project / "data/submission.json").read_text())["lines"] == 24
    assert 0.0 <= scored["norm_edit_dis"] <= 1.0
    for model in ("mobile", "ppocrv4", "ppocrv6", "baseline-ppocrv4",
                  "baseline-ppocrv6-small", "baseline-ppocrv6-tiny"):
        details = json.loads((project / f"data/evaluation/{model}.json").read_text())
        assert details["count"] == 24
    exported = json.loads((project / "models/export.json").read_text())
    assert exported["model"] == "ppocrv6" and exported["size_mb"] < 10
    # The fine-tuned PP-OCRv6 reads the tiny sample far better than two epochs of a CRNN.
    ppocrv6 = json.loads((project / "metrics/eval_ppocrv6.json").read_text())
    mobile = json.loads((project / "metrics/eval_mobile.json").read_text())
    assert ppocrv6["acc"] > 0.8 > mobile["acc"]
    # The exported model scores in submit exactly what evaluate gave it: same crops, same
    # preprocessing and batches, raw labels (the test images are scored as the val lines are).
    assert scored["acc"] > 0.8
    page = (project / "reports/index.html").read_text(encoding="utf-8")
    assert "ppocrv6" in page and "baseline-ppocrv6-small" in page and "data:image/" in page


def test_a_second_repro_runs_nothing(project):
    result = _dvc(project, "repro")
    assert "Running stage" not in result.stdout
    assert _changed_stages(project) == set()


def test_dvc_reports_metrics_params_and_plots(project):
    shown = _dvc(project, "metrics", "show").stdout
    lines = shown.splitlines()
    # Read at a glance: no line wider than a screen, every model's scores and the export's
    # size in the one table (a cell of a key a file lacks is "-").
    assert max(map(len, lines)) <= 160, shown
    header = lines[0].split()
    rows = {cells[0]: dict(zip(header[1:], cells[1:])) for cells in map(str.split, lines[1:])}
    for name in ("mobile", "ppocrv4", "ppocrv6", "baseline-ppocrv4", "baseline-ppocrv6-small",
                 "baseline-ppocrv6-tiny"):
        row = rows[f"metrics/eval_{name}.json"]
        assert 0.0 <= float(row["acc"]) <= 1.0 and 0.0 <= float(row["norm_edit_dis"]) <= 1.0
        # Beside val: what the model reads of the guard's general text.
        assert 0.0 <= float(row["guard_acc"]) <= 1.0
    assert 0 < float(rows["metrics/export.json"]["size_mb"]) < 10
    assert float(rows["metrics/submit.json"]["acc"]) > 0.8
    plots = _dvc(project, "plots", "show", "-o", str(project / "plots_html"))
    assert (project / "plots_html" / "index.html").exists(), plots.stdout


@pytest.mark.parametrize("change,expected", [
    ({"train_mobile": {"lr": 0.0005}}, {"train@mobile", "evaluate@mobile", "report"}),
    # Not in `models`: no stage reads it.
    ({"train_server": {"lr": 0.0005}}, set()),
    ({"train_ppocrv4": {"lr": 0.0005}}, {"train@ppocrv4", "evaluate@ppocrv4", "report"}),
    ({"train_ppocrv6": {"lr": 0.0005}},
     {"train@ppocrv6", "evaluate@ppocrv6", "report", "export", "predict", "submit"}),
    ({"export": {"max_size_mb": 9}}, {"export", "predict", "submit"}),
    ({"predict": {"batch_size": 8}}, EVALUATIONS | {"report", "predict", "submit"}),
    ({"split": {"seed": 1}}, EVALUATIONS | {"split", "train@mobile", "train@ppocrv4",
                                            "train@ppocrv6", "report", "export", "predict",
                                            "submit"}),
], ids=["train_mobile", "train_server", "train_ppocrv4", "train_ppocrv6", "export", "predict",
        "split"])
def test_a_param_change_marks_exactly_the_stages_below_it(project, change, expected):
    original = (project / "params.yaml").read_text(encoding="utf-8")
    try:
        _set_params(project, change)
        assert _rerun_set(project) == expected
        section, values = next(iter(change.items()))
        key = next(iter(values))
        if expected:
            assert f"{section}.{key}" in _dvc(project, "params", "diff").stdout
    finally:
        (project / "params.yaml").write_text(original, encoding="utf-8")


def test_an_experiment_runs_with_a_set_param_and_shows_up(project):
    # Last in this module: an experiment leaves its results in the workspace.
    # Adding a model to `models` adds its stages: the server CRNN, two steps.
    _dvc(project, "exp", "run", "-S", "models=[mobile,server,ppocrv4,ppocrv6]",
         "-S", "train_server.max_steps=2", "-S", "train_server.image_shape=[3,32,128]",
         "--name", "with-server")
    shown = json.loads(_dvc(project, "exp", "show", "--json").stdout)
    assert "with-server" in json.dumps(shown)
    assert json.loads((project / "data/evaluation/server.json").read_text())["count"] == 24
