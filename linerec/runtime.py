"""How a stage process configures Paddle and paddleocr, before either is imported.

Paddle reads most of its flags once, when it is first imported, so this must run at the top of
a stage script, ahead of any import that pulls in paddle. Library modules never call it.
"""

import os
import sys
import warnings

from linerec.errors import PipelineError


def configure_stage(legacy_programs=False):
    """Settings for a pipeline stage process.

    ``legacy_programs``: Paddle writes the legacy program format (``inference.pdmodel``), which
    the competition counts and paddleocr 2.10's TextRecognizer loads, only when
    FLAGS_enable_pir_api is off before Paddle is imported; a stage that exports asks for it.
    """
    # albumentations (pulled in by paddleocr) checks the network for updates on import.
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    if "paddle" not in sys.modules:
        # Paddle's C++ INFO lines ("New Executor is Running") would bury the stage's own output.
        os.environ.setdefault("GLOG_minloglevel", "1")
        if legacy_programs:
            os.environ["FLAGS_enable_pir_api"] = "0"
    # Only relevant when compiling custom operators, which the pipeline never does.
    warnings.filterwarnings("ignore", message="No ccache found")
    if legacy_programs:
        require_legacy_programs()


def legacy_programs_enabled():
    """What Paddle itself will write: its real switch, not the environment variable, which
    means nothing once Paddle has been imported."""
    if "paddle" not in sys.modules:
        return os.environ.get("FLAGS_enable_pir_api", "").lower() in ("0", "false")
    from paddle.framework import use_pir_api

    return not use_pir_api()


def require_legacy_programs():
    if not legacy_programs_enabled():
        raise PipelineError(
            "Paddle is in its new program mode (PIR), so it cannot write inference.pdmodel",
            fix="set FLAGS_enable_pir_api=0 in the environment before Paddle is imported "
                "(stage scripts do this through linerec.runtime.configure_stage)")
