"""Batched recognition over a Paddle Inference model: crops sorted by aspect ratio as PaddleOCR
does, one padded width per batch, greedy CTC decoding."""

import json
from pathlib import Path

import numpy as np

from linerec.errors import PipelineError
from linerec.inference.preprocess import batch_max_ratio, resize_normalize
from linerec.decoding import ctc_decoder

MODEL_FILE = "inference.pdmodel"
PARAMS_FILE = "inference.pdiparams"
# Not inference.json: paddleocr takes a file of that name for a Paddle 3 program.
CONFIG_FILE = "recognizer.json"
DICT_FILE = "dict.txt"


def read_export_config(model_dir):
    path = Path(model_dir) / CONFIG_FILE
    if not path.exists():
        raise PipelineError("export config not found", where=str(path),
                            fix="run the export stage first (dvc repro export)")
    return json.loads(path.read_text(encoding="utf-8"))


class LinePredictor:
    def __init__(self, model_dir, batch_size=64, cpu_threads=1, enable_mkldnn=True, use_gpu=False):
        from paddle import inference

        model_dir = Path(model_dir)
        for name in (MODEL_FILE, PARAMS_FILE):
            if not (model_dir / name).exists():
                raise PipelineError("inference model file missing", where=str(model_dir / name),
                                    fix="run the export stage first (dvc repro export)")
        self.export_config = read_export_config(model_dir)
        self.image_shape = self.export_config["image_shape"]
        self.batch_size = batch_size
        config = inference.Config(str(model_dir / MODEL_FILE), str(model_dir / PARAMS_FILE))
        if use_gpu:
            config.enable_use_gpu(500, 0)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(cpu_threads)
            if enable_mkldnn:
                # A bounded cache of compiled shapes: each new batch width costs a compile.
                config.set_mkldnn_cache_capacity(10)
                config.enable_mkldnn()
        config.enable_memory_optim()
        config.disable_glog_info()
        config.switch_use_feed_fetch_ops(False)
        config.switch_ir_optim(True)
        self.predictor = inference.create_predictor(config)
        self.input = self.predictor.get_input_handle(self.predictor.get_input_names()[0])
        self.output = self.predictor.get_output_handle(self.predictor.get_output_names()[0])
        self.decoder = ctc_decoder(model_dir / DICT_FILE, self.export_config["use_space_char"])

    def run_batch(self, images):
        """Recognises crops of one batch (BGR uint8); returns [(text, confidence)]."""
        ratio = batch_max_ratio(images, self.image_shape)
        batch = np.stack([resize_normalize(image, self.image_shape, ratio) for image in images])
        self.input.reshape(batch.shape)
        self.input.copy_from_cpu(batch)
        self.predictor.run()
        return [(text, float(conf)) for text, conf in self.decoder(self.output.copy_to_cpu())]

    def predict(self, images, progress=None):
        """Recognises all crops in aspect-ratio order; results come back in input order."""
        order = np.argsort([image.shape[1] / float(image.shape[0]) for image in images],
                           kind="stable")
        results = [None] * len(images)
        for start in range(0, len(images), self.batch_size):
            chunk = order[start:start + self.batch_size]
            for index, result in zip(chunk, self.run_batch([images[i] for i in chunk])):
                results[index] = result
            if progress is not None:
                progress(len(chunk))
        return results
