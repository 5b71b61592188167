"""A saved Paddle inference program used as a trainable recogniser.

PaddleOCR's released inference models hold the program and its weights but not the Python model
that made them. ``paddle.jit.load`` turns such a program into a layer whose parameters train like
any other, and ``paddle.jit.save`` writes it back; both work only with Paddle's legacy program
format (FLAGS_enable_pir_api=0, which ``import linerec`` sets when it comes before paddle).
"""

import os
from pathlib import Path

import paddle
from paddle import nn

from linerec.errors import PipelineError

MODEL_FILE = "inference.pdmodel"
PARAMS_FILE = "inference.pdiparams"


def legacy_programs_enabled():
    return os.environ.get("FLAGS_enable_pir_api", "").lower() in ("0", "false")


def require_legacy_programs():
    if not legacy_programs_enabled():
        raise PipelineError("Paddle was imported without FLAGS_enable_pir_api=0",
                            fix="import linerec before paddle, or set FLAGS_enable_pir_api=0 "
                                "in the environment")


def require_program(folder):
    for name in (MODEL_FILE, PARAMS_FILE):
        if not (Path(folder) / name).exists():
            raise PipelineError("inference program file missing", where=str(Path(folder) / name),
                                fix="re-run the stage that writes it")


class ProgramRecognizer(nn.Layer):
    """(N, 3, H, W) images → (N, T, C): log-probabilities in training mode, probabilities in eval.

    A CTC inference program ends in a softmax. Its log is what CTCLoss needs: warpctc's own
    softmax turns it back into the same probabilities, so the gradient is the usual one.
    """

    def __init__(self, folder):
        super().__init__()
        require_legacy_programs()
        require_program(folder)
        self.program = paddle.jit.load(str(Path(folder) / "inference"))

    def forward(self, x):
        # nn.Layer.train()/eval() set only `training` on sublayers; a loaded program keeps its
        # own switch, which also picks dropout's and batch norm's behaviour.
        if self.training:
            self.program.train()
        else:
            self.program.eval()
        probabilities = self.program(x)
        if not self.training:
            return probabilities
        # Paddle 3.3's legacy run_program records the backward node but leaves its output marked
        # stop_gradient, so loss.backward() would silently reach no parameter. The gradients it
        # then computes are exact (checked against the same layers in dygraph).
        probabilities.stop_gradient = False
        return paddle.log(paddle.clip(probabilities, min=1e-12))

    def save_inference_model(self, folder, image_shape):
        """Writes folder/inference.{pdmodel,pdiparams} in eval mode, with a free batch and width."""
        channels, height, _ = image_shape
        was_training = self.training
        self.eval()
        spec = [paddle.static.InputSpec([None, channels, height, None], "float32", name="x")]
        paddle.jit.save(self.program, str(Path(folder) / "inference"), input_spec=spec)
        if was_training:
            self.train()
