"""Two ways of using more than one machine or core, on a tiny copy of the project (mobile only):
a DVC remote that a fresh clone pulls the trained pipeline from (nothing retrains, the persisted
models/mobile comes back byte for byte), and the experiment queue running two lr variants in
parallel temp workspaces."""

import filecmp
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import copy_project

pytestmark = pytest.mark.slow

TINY = {
    "models": ["mobile"],
    "baselines": [],
    "sample": {"num_train": 120, "num_test": 24, "max_chars": 4},
    "general": {"replay_lines": 8, "guard_lines": 12},
    "split": {"val_size": 24},
    "train_mobile": {"image_shape": [3, 32, 128], "epochs": 1, "batch_size": 16,
                     "eval_every_steps": 6, "log_every_steps": 2},
    "export": {"model": "mobile", "weights": "float32"},
}
QUEUE_TIMEOUT_S = 240


def _env():
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _dvc(project, *args, check=True, timeout=600):
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, env=_env(),
                            capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          check=True, capture_output=True, text=True)


def _set_params(project, changes):
    path = Path(project) / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict):
            params[key].update(value)
        else:
            params[key] = value
    path.write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _files(folder):
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The tiny pipeline, reproduced, with dvc.lock and the uncached metrics committed: the
    state a teammate pushes, and the commit that queued experiments start from."""
    project = copy_project(tmp_path_factory.mktemp("team") / "project")
    _set_params(project, TINY)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "tiny sample")
    _dvc(project, "repro")
    _git(project, "add", "-A")  # dvc.lock, metrics/ (cache: false), data/ and models/.gitignore
    _git(project, "commit", "-qm", "tiny run")
    return project


def test_a_clone_pulls_the_trained_pipeline_and_retrains_nothing(project, tmp_path):
    remote = tmp_path / "remote"
    _dvc(project, "remote", "add", "-d", "-f", "team", str(remote))
    _git(project, "add", ".dvc/config")
    _git(project, "commit", "-qm", "team remote")
    _dvc(project, "push")
    assert any(remote.rglob("*")), "dvc push left the remote empty"

    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(project), str(clone))
    assert not (clone / "models/mobile").exists()  # git carries only dvc.lock and .gitignores
    _dvc(clone, "pull")

    assert json.loads(_dvc(clone, "status", "--json").stdout or "{}") == {}
    repro = _dvc(clone, "repro")
    assert "Running stage" not in repro.stdout, repro.stdout

    # The persisted model folder comes back whole: the resumable latest/ and the best/ weights.
    ours, theirs = project / "models/mobile", clone / "models/mobile"
    for sub in ("latest", "best"):
        assert (theirs / sub / "model.pdparams").is_file()
    assert _files(theirs) == _files(ours)
    _, mismatch, errors = filecmp.cmpfiles(ours, theirs, _files(ours), shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    assert (theirs / "best/model.pdparams").read_bytes() == \
        (ours / "best/model.pdparams").read_bytes()
    assert filecmp.cmp(project / "data/submission.txt", clone / "data/submission.txt",
                       shallow=False)


def _queue_rows(project):
    """{task: status} from `dvc queue status`'s table, the active workers, the table."""
    out = _dvc(project, "queue", "status").stdout
    rows, active = {}, 0
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] != "Task" and not line.startswith("Worker status") and \
                fields[-1] in {"Queued", "Running", "Success", "Failed"}:
            rows[fields[0]] = fields[-1]
        elif line.startswith("Worker status:"):
            active = int(fields[2])
    return rows, active, out


def test_queued_experiments_run_in_parallel_and_show_up(project):
    # Neither the default lr (0.002): an experiment that changes nothing finishes from the cache.
    lrs = {"lr-0.001": 0.001, "lr-0.003": 0.003}
    params_before = (project / "params.yaml").read_text(encoding="utf-8")
    for name, lr in lrs.items():
        # Only as far as the evaluation the variants are compared on (export etc. stay as they are).
        _dvc(project, "exp", "run", "--queue", "--name", name, "-S", f"train_mobile.lr={lr}",
             "evaluate@mobile")
    rows, _, _ = _queue_rows(project)
    assert list(rows.values()).count("Queued") == 2, rows

    # The workers it starts in the background inherit its stdout/stderr: captured through pipes,
    # the call would not return before they exit (i.e. after the whole queue has run).
    with open(project / ".dvc" / "tmp" / "queue-start.log", "w") as log:
        started = subprocess.run([sys.executable, "-m", "dvc", "queue", "start", "-j", "2"],
                                 cwd=project, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                                 timeout=120)
    assert started.returncode == 0, (project / ".dvc/tmp/queue-start.log").read_text()
    deadline, most_active = time.monotonic() + QUEUE_TIMEOUT_S, 0
    try:
        while True:
            rows, active, table = _queue_rows(project)
            most_active = max(most_active, active)
            if rows and all(status in {"Success", "Failed"} for status in rows.values()):
                break
            assert time.monotonic() < deadline, f"queue still busy after {QUEUE_TIMEOUT_S}s:\n{table}"
            time.sleep(5)  # each `dvc queue status` costs a second of CPU
    finally:
        if any(status in {"Queued", "Running"} for status in _queue_rows(project)[0].values()):
            _dvc(project, "queue", "stop", "--kill", check=False)
    logs = {task: _dvc(project, "queue", "logs", task, check=False).stdout for task in rows}
    assert set(rows.values()) == {"Success"}, (table, logs)
    assert most_active == 2  # one worker per experiment, side by side
    for log in logs.values():
        # The temp workspace starts from the committed run: the data stages come from the cache
        # and only what lies below train_mobile.lr runs again.
        assert "Running stage 'sample'" not in log and "Running stage 'split'" not in log, log
        assert "Running stage 'train@mobile'" in log and "Running stage 'evaluate@mobile'" in log
        assert "Running stage 'export'" not in log, log

    shown = json.loads(_dvc(project, "exp", "show", "--json").stdout)
    found = {}
    for commit in shown:
        for experiment in commit.get("experiments") or []:
            for rev in experiment["revs"]:
                data = rev["data"]
                lr = data["params"]["params.yaml"]["data"]["train_mobile"]["lr"]
                evaluation = data["metrics"]["metrics/eval_mobile.json"]["data"]
                found[rev["name"]] = (lr, evaluation)
    assert set(found) >= set(lrs), found
    for name, lr in lrs.items():
        got_lr, evaluation = found[name]
        assert got_lr == lr
        assert 0.0 <= evaluation["acc"] <= 1.0 and 0.0 <= evaluation["norm_edit_dis"] <= 1.0
    # The workspace is left as it was: the queue ran elsewhere.
    assert (project / "params.yaml").read_text(encoding="utf-8") == params_before
