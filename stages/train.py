"""Stage train_<model>: trains one recogniser on data/split; resumes from models/<model>/latest.

Usage: python stages/train.py mobile|server|ppocrv4|ppocrv6
Multi-GPU: python -m paddle.distributed.launch --gpus 0,1 stages/train.py server
"""

# First, before anything imports paddle or paddleocr.
from linerec.runtime import configure_stage

configure_stage()

import argparse

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
    trainer = Trainer(cfg, model_dir=f"models/{args.model}", live_dir=f"metrics/train_{args.model}")
    state = trainer.run(progress=not args.no_progress)
    print(f"train_{args.model}: best val acc {state['best_acc']:.4f}, "
          f"1-NED {state['best_norm_edit_dis']:.4f} at step {state['best_step']}")


if __name__ == "__main__":
    run_main(main)
