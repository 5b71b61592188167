"""Stage train_<model>: trains one recogniser on data/split; resumes from models/<model>/latest.

Usage: python stages/train.py mobile|server|ppocrv4|ppocrv6
Multi-GPU: python -m paddle.distributed.launch --gpus 0,1 stages/train.py server
(on CPU, for a check: --nproc_per_node 2, which runs over gloo)
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

import argparse
import os

from linerec.errors import run_main
from linerec.model_store import TRAINED_MODELS
from linerec.training.config import from_params
from linerec.training.trainer import Trainer


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=TRAINED_MODELS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    cfg = from_params(args.model)
    # Under paddle.distributed.launch only rank 0 evaluates, so only it has anything to say.
    main_rank = int(os.environ.get("PADDLE_TRAINER_ID", "0")) == 0
    trainer = Trainer(cfg, model_dir=f"models/{args.model}", live_dir=f"metrics/train_{args.model}",
                      log=print if main_rank else (lambda *_: None))
    state = trainer.run(progress=not args.no_progress)
    if trainer.is_main:
        print(f"train@{args.model}: best val acc {state['best_acc']:.4f}, "
              f"1-NED {state['best_norm_edit_dis']:.4f} at step {state['best_step']}")


if __name__ == "__main__":
    run_main(main)
