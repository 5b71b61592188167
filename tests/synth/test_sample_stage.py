"""stages/sample.py run as DVC runs it: a subprocess in a project folder with its params.yaml."""

import os

import yaml

from tests.conftest import ROOT, run_stage

# The stage imports linerec from the project it runs for, installed or not.
ENV = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def _project(tmp_path, **sample):
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["sample"].update(sample)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True),
                                          encoding="utf-8")
    return tmp_path


def test_the_stage_writes_the_sample_into_data_raw_dir(tmp_path):
    project = _project(tmp_path, num_train=20, num_test=5)
    result = run_stage("sample.py", cwd=project, env=ENV)
    assert "20 train + 5 test images" in result.stdout
    names = sorted(p.name for p in (project / "data" / "sample").iterdir())
    assert names == ["test_images.zip", "test_label.csv", "train_images.zip", "train_label.csv"]


def test_a_bad_param_is_one_readable_error(tmp_path):
    project = _project(tmp_path, difficulty=2.0)
    result = run_stage("sample.py", cwd=project, env=ENV, check=False)
    assert result.returncode == 2
    assert "sample.difficulty" in result.stderr and "Traceback" not in result.stderr
    assert not (project / "data").exists()
