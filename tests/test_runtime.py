"""Importing linerec configures nothing; a stage that needs Paddle's legacy program format asks
for it, and the check reads Paddle's real switch, not the environment."""

import os
import subprocess
import sys

from tests.conftest import ROOT


def run_python(code, **env):
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("FLAGS_", "GLOG_", "NO_ALBUMENTATIONS"))}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full_env,
                          capture_output=True, text=True)


def test_importing_the_package_changes_no_environment_or_flag():
    result = run_python(
        # Paddle and OpenCV set variables of their own when imported: take those first.
        "import os, json, paddle, cv2, paddleocr; before = dict(os.environ)\n"
        "import linerec, linerec.training.trainer, linerec.families, linerec.inference.export\n"
        "from paddle.framework import use_pir_api\n"
        "changed = sorted(k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k))\n"
        "print(json.dumps(changed), use_pir_api())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["[]", "True"]


def test_the_legacy_check_sees_paddle_imported_in_pir_mode_despite_the_variable():
    # Paddle first (PIR on), the variable set afterwards: too late, and the check must say so.
    result = run_python(
        "import os, paddle\n"
        "os.environ['FLAGS_enable_pir_api'] = '0'\n"
        "from linerec.runtime import require_legacy_programs\n"
        "require_legacy_programs()")
    assert result.returncode != 0
    assert "PIR" in result.stderr and "FLAGS_enable_pir_api=0" in result.stderr


def test_a_stage_configured_for_legacy_programs_writes_a_pdmodel(tmp_path):
    result = run_python(
        "from linerec.runtime import configure_stage\n"
        "configure_stage(legacy_programs=True)\n"
        "import paddle\n"
        "from linerec.inference.export import export_inference_model\n"
        f"export_inference_model(paddle.nn.Conv2D(3, 4, 3), [3, 32, 64], r'{tmp_path}')")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "inference.pdmodel").exists()
    assert not (tmp_path / "inference.json").exists()
