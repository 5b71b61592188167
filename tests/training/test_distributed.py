"""Two training ranks on CPU through paddle.distributed.launch (gloo): the multi-GPU code path
of the Trainer (init_parallel_env, DataParallel, sharded sampler, rank-0-only saving)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import paddle
import pytest

from tests.conftest import ROOT
from tests.training.test_trainer import _project_with_params

# Runs the project's Trainer as stages/train.py does, recording the batches this rank reads
# and saving its final weights, so the test can compare ranks.
WORKER = textwrap.dedent(f"""
    import json, sys
    sys.path.insert(0, {str(ROOT)!r})
    from linerec.runtime import configure_stage
    configure_stage()
    import paddle
    from linerec.training import sampler as sampler_module
    from linerec.training.config import from_params
    from linerec.training.trainer import Trainer

    seen = []
    original = sampler_module.ResumableBatchSampler.__iter__

    def recording(self):
        for batch in original(self):
            seen.append(batch)
            yield batch

    sampler_module.ResumableBatchSampler.__iter__ = recording
    trainer = Trainer(from_params("mobile"), "models/mobile", "metrics/train_mobile")
    state = trainer.run(progress=False)
    rank = trainer.rank
    paddle.save(trainer.model.state_dict(), f"rank{{rank}}.pdparams")
    with open(f"rank{{rank}}.json", "w") as f:
        json.dump({{"world_size": trainer.world_size, "step": state["step"],
                   "steps_per_epoch": trainer.steps_per_epoch, "batches": seen,
                   "trainable": [k for k, v in trainer.model.state_dict().items()
                                 if not v.stop_gradient]}}, f)
""")


@pytest.mark.skipif(paddle.is_compiled_with_cuda(),
                    reason="tests the CPU (gloo) path; a CUDA build would pick the GPUs")
def test_two_cpu_ranks_read_disjoint_batches_and_end_with_identical_weights(tmp_path):
    project = _project_with_params(tmp_path, dict(
        epochs=2, batch_size=8, eval_every_steps=4, log_every_steps=1, lr=0.002,
        warmup_epochs=0, num_workers=0, augment=False))
    (project / "worker.py").write_text(WORKER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["OMP_NUM_THREADS"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2",
         "--max_restart", "0", "--log_dir", str(project / "log"), "worker.py"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300)
    logs = "\n".join(p.read_text(errors="replace") for p in sorted((project / "log").glob("workerlog.*")))
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{logs}"

    ranks = [json.loads((project / f"rank{r}.json").read_text()) for r in (0, 1)]
    per_epoch = ranks[0]["steps_per_epoch"]
    assert per_epoch == 64 // 8 // 2
    for info in ranks:
        assert info["world_size"] == 2 and info["step"] == 2 * per_epoch
        assert len(info["batches"]) == 2 * per_epoch and all(len(b) == 8 for b in info["batches"])
    for epoch in range(2):
        shards = [{i for b in info["batches"][epoch * per_epoch:(epoch + 1) * per_epoch] for i in b}
                  for info in ranks]
        assert not shards[0] & shards[1], f"epoch {epoch}: the ranks read the same lines"
        assert shards[0] | shards[1] == set(range(64))

    # Gradients are averaged across ranks, so every trainable weight stays identical. Batch-norm
    # running statistics are buffers, which DataParallel does not synchronise after the start.
    weights = [paddle.load(str(project / f"rank{r}.pdparams")) for r in (0, 1)]
    for name in ranks[0]["trainable"]:
        np.testing.assert_allclose(weights[0][name].numpy(), weights[1][name].numpy(),
                                   rtol=1e-6, atol=1e-7, err_msg=name)
    # Only rank 0 saves, and what it saves is its final model.
    saved = paddle.load(str(project / "models/mobile/latest/model.pdparams"))
    for name, value in weights[0].items():
        np.testing.assert_array_equal(saved[name].numpy(), value.numpy(), err_msg=name)
