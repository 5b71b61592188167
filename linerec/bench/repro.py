"""`dvc repro` wall time: the whole pipeline in a fresh clone, then no-op reruns (--repro), or
only no-op reruns in this workspace when it is up to date (--noop-only)."""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from linerec.bench.measure import spread, summary


def stage_environment(project):
    """Stages run `python stages/...`: this environment's python, importing the project's linerec
    (rather than the one this environment has installed in editable mode)."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(project) + os.pathsep + env.get("PYTHONPATH", "") \
        if env.get("PYTHONPATH") else str(project)
    return env


def dvc_command():
    beside = Path(sys.executable).parent / "dvc"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "dvc"]


def timed_repro(project, env, log):
    """Seconds for `dvc repro` in project, and when each stage started (from dvc's output)."""
    start = time.perf_counter()
    stages = {}
    with open(log, "a", encoding="utf-8") as out:
        process = subprocess.Popen(dvc_command() + ["repro"], cwd=project, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in process.stdout:
            out.write(line)
            if line.startswith("Running stage '"):
                stages[line.split("'")[1]] = round(time.perf_counter() - start, 1)
        process.wait()
    if process.returncode != 0:
        tail = Path(log).read_text(encoding="utf-8").splitlines()[-20:]
        raise SystemExit("error: dvc repro failed in " + str(project) + ":\n" + "\n".join(tail))
    return time.perf_counter() - start, stages


def bench_repro(source, repeats):
    """The whole pipeline in a fresh clone of source's HEAD (uncommitted changes not included),
    then no-op reruns there."""
    with tempfile.TemporaryDirectory(prefix="linerec-bench-repro-") as folder:
        clone = Path(folder) / "repo"
        subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, check=True,
                                capture_output=True, text=True).stdout.strip()
        env = stage_environment(clone)
        log = Path(folder) / "repro.log"
        print(f"\ndvc repro of commit {commit} in a fresh clone ({clone}); this takes a while")
        full, stages = timed_repro(clone, env, log)
        noop = [timed_repro(clone, env, log)[0] for _ in range(repeats)]
    print(f"whole pipeline {full:.0f} s ({full / 60:.1f} min); no-op {spread(summary(noop), 2)} s")
    return {"commit": commit, "full_s": full, "stage_started_at_s": stages,
            "noop_s": summary(noop)}


def bench_noop_here(repeats):
    env = stage_environment(Path.cwd())
    status = subprocess.run(dvc_command() + ["status", "--json"], env=env, capture_output=True,
                            text=True)
    if status.returncode != 0 or json.loads(status.stdout or "{}"):
        print("\nno-op dvc repro: the workspace is not up to date (dvc status lists changes), so "
              "`dvc repro` would run stages; skipped. Run `dvc repro` first, or use --repro.")
        return None
    with tempfile.TemporaryDirectory(prefix="linerec-bench-noop-") as folder:
        noop = [timed_repro(Path.cwd(), env, Path(folder) / "noop.log")[0] for _ in range(repeats)]
    print(f"\nno-op dvc repro in this workspace: {spread(summary(noop), 2)} s")
    return {"where": "workspace", "noop_s": summary(noop)}
