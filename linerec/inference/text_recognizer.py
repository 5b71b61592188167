"""paddleocr's own TextRecognizer over one of our exports: the reference our LinePredictor is
compared with (tests, python -m linerec.bench)."""

import json
from pathlib import Path


def paddleocr_recognizer(model_dir, batch_size, threads):
    """paddleocr's TextRecognizer as its predict_rec.py would build it from our export's flags
    (recognizer.json's paddleocr_args). Calling it on BGR crops returns ([(text, confidence)],
    seconds)."""
    from paddleocr.tools.infer import utility
    from paddleocr.tools.infer.predict_rec import TextRecognizer

    from linerec.inference.predictor import CONFIG_FILE

    config = json.loads((Path(model_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    flags = config["paddleocr_args"]
    args = utility.init_args().parse_args([])
    args.rec_model_dir = str(model_dir)
    args.rec_algorithm = flags["rec_algorithm"]
    args.rec_image_shape = flags["rec_image_shape"]
    args.rec_char_dict_path = str(Path(model_dir) / flags["rec_char_dict_path"])
    args.use_space_char = flags["use_space_char"]
    args.use_gpu = False
    args.enable_mkldnn = True
    args.cpu_threads = threads
    args.rec_batch_num = batch_size
    args.show_log = False
    return TextRecognizer(args)
