"""Validation as the exported model is judged: every line against its raw label, each crop
prepared exactly as the predict stage prepares it (paddleocr TextRecognizer's batches).

Nothing is filtered through the model's dictionary: a label character the model cannot emit
counts against it, as it would on the competition's test set. How many lines that affects is
reported beside the score (``not_expressible``).

On CPU the model is not run in dygraph: a copy of it is saved as a program (in whichever format
the process writes) and read by the inference engine ``auto`` picks (engines.py; OpenVINO on the
ONNX paddle2onnx makes of the program, else Paddle Inference on the program). Saving and
converting cost a few seconds; reading is then ~2-3x dygraph's speed for PP-OCR models. The
probabilities differ from dygraph's by reordered float32 arithmetic only (~1e-4), so the text
and so best/ are the same (measured: see the README's Benchmarks). On a GPU, dygraph is fast.
"""

import copy
import tempfile
import time

import paddle

from linerec.data.label_lines import read_label_lines
from linerec.errors import PipelineError
from linerec.inference.preprocess import batch_input, ratio_batches, read_image
from linerec.metrics import LineMetric


class ValidationSet:
    """The lines of a ``path<TAB>label`` file, decoded once."""

    def __init__(self, label_file):
        samples = read_label_lines(label_file, "split")
        if not samples:
            raise PipelineError("no validation lines", where=str(label_file),
                                fix="give split.val_size (or val_fraction) a positive value")
        self.paths = [path for path, _ in samples]
        self.labels = [label for _, label in samples]
        self.images = []
        for path in self.paths:
            image = read_image(path)
            if image is None:
                raise PipelineError("validation image cannot be decoded", where=path,
                                    fix="re-run extract, which drops undecodable images")
            self.images.append(image)

    def __len__(self):
        return len(self.labels)

    def not_expressible(self, classes):
        """Lines with a character (spaces aside) that is not one of the model's classes."""
        known = set(classes[1:])
        return sum(any(c not in known for c in label.replace(" ", "")) for label in self.labels)


@paddle.no_grad()
def recognize(model, images, image_shape, batch_size, decoder):
    """[(text, confidence)] for crops (BGR uint8), in input order, from an eval-mode model."""
    return _read(images, batch_size, decoder,
                 lambda batch: model(paddle.to_tensor(batch_input(batch, image_shape))).numpy())


def recognize_through_engine(model, images, image_shape, batch_size, decoder, threads=1):
    """``recognize``'s results, read by an inference engine from a saved copy of the model (the
    model itself is left as it was: tracing converts the layer it is given)."""
    from linerec.inference import engines
    from linerec.inference.export import save_program
    from linerec.inference.onnx_file import convert_in_child

    frozen = copy.deepcopy(getattr(model, "_layers", model))  # unwrap paddle.DataParallel
    with tempfile.TemporaryDirectory(prefix="linerec-eval-") as folder:
        save_program(frozen, image_shape, folder)
        del frozen
        if engines.wants_onnx("auto"):
            try:
                convert_in_child(folder, f"{folder}/{engines.ONNX_FILE}")
            except PipelineError:
                pass  # a program paddle2onnx cannot convert is read by Paddle Inference instead
        engine = engines.create_engine(engines.resolve("auto", folder), folder, threads)
        return _read(images, batch_size, decoder,
                     lambda batch: engine.run(batch_input(batch, image_shape)))


def _read(images, batch_size, decoder, probabilities):
    results = [None] * len(images)
    for batch in ratio_batches(images, batch_size):
        for index, result in zip(batch, decoder(probabilities([images[i] for i in batch]))):
            results[index] = (result[0], float(result[1]))
    return results


def evaluate(model, val_set, image_shape, batch_size, decoder):
    """Returns (metric, [(text, confidence)] in val order, images per second, saving and
    converting included)."""
    was_training = model.training
    model.eval()
    started = time.perf_counter()
    try:
        if paddle.device.get_device().startswith("cpu"):
            results = recognize_through_engine(model, val_set.images, image_shape, batch_size,
                                               decoder)
        else:
            results = recognize(model, val_set.images, image_shape, batch_size, decoder)
    finally:
        if was_training:
            model.train()
    seconds = time.perf_counter() - started
    metric = LineMetric()
    metric.update([text for text, _ in results], val_set.labels)
    return metric, results, len(results) / max(seconds, 1e-9)
