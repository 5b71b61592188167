"""Stage evaluate@<model>: the best checkpoint on the validation split → metrics/eval_<model>.json.

Usage: python stages/evaluate.py mobile|server
"""

import argparse
from pathlib import Path

import paddle

from linerec import params as params_lib
from linerec.atomic import write_json
from linerec.data.dataset import LineDataset
from linerec.errors import run_main
from linerec.model_store import DICT_FILE, load_trained
from linerec.training import checkpoint
from linerec.decoding import ctc_decoder
from linerec.training.evaluation import evaluate

VAL_FILE = "data/split/val.txt"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("mobile", "server"))
    args = parser.parse_args(argv)
    batch_size = params_lib.load().section("evaluate").get("batch_size", int, minimum=1)
    model_dir = Path("models") / args.model
    model, info = load_trained(model_dir, "best")
    dict_path = model_dir / DICT_FILE
    val_set = LineDataset(VAL_FILE, dict_path, info["image_shape"], info["max_text_length"],
                          info["use_space_char"])
    loader = paddle.io.DataLoader(val_set, batch_size=batch_size, shuffle=False, drop_last=False)
    metric, _, images_per_s = evaluate(model, loader, val_set.targets,
                                       ctc_decoder(dict_path, info["use_space_char"]))
    result = metric.result()
    state = checkpoint.read_state(model_dir / "best") or {}
    write_json(f"metrics/eval_{args.model}.json", {
        "acc": result["acc"], "norm_edit_dis": result["norm_edit_dis"],
        "count": result["count"], "not_encodable": val_set.dropped,
        "images_per_s": round(images_per_s, 2), "best_step": state.get("best_step", 0),
        "acc_by_length": metric.accuracy_by_length(),
    })
    print(f"evaluate {args.model}: acc {result['acc']:.4f}, 1-NED {result['norm_edit_dis']:.4f} "
          f"on {result['count']} val lines ({images_per_s:.1f} img/s)")


if __name__ == "__main__":
    run_main(main)
