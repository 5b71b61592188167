"""Presets applied as `dvc exp run $(python -m linerec.presets ...)` applies them: in a copy of
the project, through DVC's own `-S` handling; the result is checked in params.yaml and in the
stages DVC then wants to run."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from linerec.presets import set_arguments
from tests.conftest import ROOT, copy_project, run_stage


def dvc(project, *args):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"dvc {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def applied(tmp_path, preset_name, extra=()):
    """A copy of the project (and of the ``extra`` folders) with the preset applied by DVC;
    (params, stage names, project)."""
    project = copy_project(tmp_path / "project")
    for name in extra:
        shutil.copytree(ROOT / name, project / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "project"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=project,
                       check=True, capture_output=True)
    preset = yaml.safe_load((ROOT / "presets" / preset_name).read_text(encoding="utf-8"))
    # --queue: DVC writes the -S values into the queued experiment; `exp apply` would need a
    # run, so the test applies them as `dvc exp run` does, through `dvc params` semantics:
    # each -S is a YAML value at a dotted key.
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    arguments = set_arguments(preset)
    for flag, assignment in zip(arguments[::2], arguments[1::2]):
        assert flag == "-S"
        key, value = assignment.split("=", 1)
        node = params
        *parents, last = key.split(".")
        for part in parents:
            node = node[part]
        node[last] = yaml.safe_load(value)
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True,
                                                        sort_keys=False), encoding="utf-8")
    stages = set(json.loads(dvc(project, "status", "--json") or "{}"))
    return params, stages, project


def known(params, preset, prefix=""):
    for key, value in preset.items():
        assert key in params, f"{prefix}{key} is not a param"
        if isinstance(value, dict) and key != "model":
            known(params[key], value, f"{prefix}{key}.")


@pytest.mark.parametrize("name", ["competition.yaml", "seed_notebook.yaml", "plates.yaml"])
def test_a_preset_names_only_existing_params(name):
    preset = yaml.safe_load((ROOT / "presets" / name).read_text(encoding="utf-8"))
    known(yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8")), preset)


def test_the_competition_preset_fine_tunes_exports_and_compares_ppocrv6_small_only(tmp_path):
    params, stages, _ = applied(tmp_path, "competition.yaml")
    assert params["data"]["raw_dir"] == "data/competition"
    assert params["split"]["val_size"] == 5000
    assert params["train_ppocrv6"]["model"]["variant"] == "small"
    assert params["train_ppocrv6"]["batch_size"] == 128 and params["export"]["model"] == "ppocrv6"
    # What the plates taught it: frozen statistics, mixes chosen on val within the guard.
    assert params["train_ppocrv6"]["model"]["freeze_bn_stats"] is True
    assert params["train_ppocrv6"]["retain"]["interpolate"] == [0.5, 0.75, 1.0]
    assert params["guard"]["max_drop"] == 0.02
    assert stages == {"sample", "general", "extract", "split", "train@ppocrv6", "evaluate@ppocrv6",
                      "evaluate_baseline@ppocrv6-small", "report", "export", "predict", "submit"}


def test_the_seed_notebook_preset_trains_both_crnns_with_the_reference_recipe(tmp_path):
    params, stages, _ = applied(tmp_path, "seed_notebook.yaml")
    assert params["data"]["dictionary"] == "ppocr_keys_v1"
    for name, l2 in (("mobile", 1e-5), ("server", 4e-5)):
        section = params[f"train_{name}"]
        assert section["image_shape"] == [3, 32, 320] and section["batch_size"] == 256
        assert section["epochs"] == 500 and section["lr"] == 0.001 and section["l2"] == l2
        assert section["warmup_epochs"] == 5
        # Carried over from the sample's recipe, on top of params.yaml's architecture.
        assert section["grad_clip"] == 5.0
        assert section["model"]["neck"]["init_scale"] == 2.0
        assert section["model"]["head"]["init_scale"] == 6.0
        assert "backbone" in section["model"] and "hidden_size" in section["model"]["neck"]
    assert params["export"]["model"] == "mobile"
    assert stages == {"sample", "general", "extract", "split", "train@mobile", "train@server",
                      "evaluate@mobile", "evaluate@server", "report", "export", "predict", "submit"}


def test_the_plates_preset_splits_the_real_plates_500_200_with_their_labels_intact(tmp_path):
    params, stages, project = applied(tmp_path, "plates.yaml", extra=["examples/plates"])
    assert params["data"]["raw_dir"] == "examples/plates"
    assert params["models"] == ["ppocrv6"] and params["export"]["model"] == "ppocrv6"
    train = params["train_ppocrv6"]
    assert train["lr"] == 1e-4 and train["max_steps"] == 300 and train["model"]["freeze_bn_stats"]
    assert train["model"]["freeze_backbone"] and train["retain"]["interpolate"] == []
    assert train["retain"]["replay_per_batch"] == 8 and train["retain"]["distill_weight"] == 1.0
    assert stages == {"sample", "general", "extract", "split", "train@ppocrv6", "evaluate@ppocrv6",
                      "evaluate_baseline@ppocrv6-small", "report", "export", "predict", "submit"}
    run_stage("extract.py", cwd=project)
    run_stage("split.py", cwd=project)
    expected = dict(line.split("\t") for line in (ROOT / "examples/plates/labels.tsv")
                    .read_text(encoding="utf-8").splitlines())
    parts = {}
    for part in ("train", "val"):
        lines = (project / f"data/split/{part}.txt").read_text(encoding="utf-8").splitlines()
        parts[part] = {Path(path).name: label for path, label in (l.split("\t") for l in lines)}
    assert (len(parts["train"]), len(parts["val"])) == (500, 200)
    assert parts["train"] | parts["val"] == expected   # every plate once, 皖 and all
