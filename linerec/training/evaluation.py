"""Validation as the exported model is judged: every line against its raw label, each crop
prepared exactly as the predict stage prepares it (paddleocr TextRecognizer's batches).

Nothing is filtered through the model's dictionary: a label character the model cannot emit
counts against it, as it would on the competition's test set. How many lines that affects is
reported beside the score (``not_expressible``).

On CPU, when reading the set in dygraph would take long, the model is not run in dygraph: a
copy of it is saved as a program (in whichever format the process writes) and read by the
inference engine ``auto`` picks (engines.py: OpenVINO on the ONNX file paddle2onnx makes of the
program, else Paddle Inference on the program). Saving and converting cost ~5-7 s for PP-OCRv6
small; reading is then 2-3x dygraph's speed. So the widest batch is read in dygraph first, and
its time decides: the engine reads the other batches when dygraph would need over
``ENGINE_WORTH_S`` for them (PP-OCR models on a validation set of hundreds of lines), dygraph
otherwise (a small CRNN, a few lines: tests). The batches are the same either way, and the
probabilities differ by reordered float32 arithmetic only (~1e-4): the same text, so the same
best/ (measured: see the README's Benchmarks). On a GPU, dygraph is fast.
"""

import copy
import tempfile
import time

import paddle

from linerec.data.label_lines import read_label_lines
from linerec.errors import PipelineError
from linerec.inference.preprocess import batch_input, batch_max_ratio, ratio_batches, read_image
from linerec.metrics import LineMetric


class ValidationSet:
    """The lines of a ``path<TAB>label`` file, decoded once."""

    def __init__(self, label_file, samples=None):
        """``samples``: [(image path, label)] instead of reading ``label_file`` (then only named
        in messages), e.g. a guard folder's lines."""
        samples = read_label_lines(label_file, "split") if samples is None else samples
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


# Dygraph seconds left above which saving the model and reading it through an engine pays: the
# engine's fixed cost is ~5-7 s, and it then reads 2-3x faster.
ENGINE_WORTH_S = 15.0


def recognize(model, images, image_shape, batch_size, decoder):
    """[(text, confidence)] for crops (BGR uint8), in input order, from an eval-mode model."""
    results = [None] * len(images)
    _read(images, ratio_batches(images, batch_size), decoder, _dygraph(model, image_shape),
          results)
    return results


def recognize_through_engine(model, images, image_shape, batches, decoder, results, threads=1):
    """``recognize``'s readings of ``batches`` (index arrays into images), stored into
    ``results``, by an inference engine on a saved copy of the model (the model itself is left
    as it was: tracing converts the layer it is given)."""
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
        _read(images, batches, decoder,
              lambda batch: engine.run(batch_input(batch, image_shape)), results)


def _dygraph(model, image_shape):
    @paddle.no_grad()
    def probabilities(batch):
        return model(paddle.to_tensor(batch_input(batch, image_shape))).numpy()

    return probabilities


def _read(images, batches, decoder, probabilities, results):
    for batch in batches:
        for index, result in zip(batch, decoder(probabilities([images[i] for i in batch]))):
            results[index] = (result[0], float(result[1]))


def _size(images, batch, image_shape):
    return len(batch) * batch_max_ratio([images[i] for i in batch], image_shape)


def _recognize_fastest(model, images, image_shape, batch_size, decoder):
    """``recognize``'s results, through an engine where that pays (see the module docstring)."""
    results = [None] * len(images)
    batches = sorted(ratio_batches(images, batch_size), reverse=True,
                     key=lambda batch: _size(images, batch, image_shape))
    if not batches:
        return results
    started = time.perf_counter()
    _read(images, batches[:1], decoder, _dygraph(model, image_shape), results)
    per_unit = (time.perf_counter() - started) / _size(images, batches[0], image_shape)
    left = per_unit * sum(_size(images, batch, image_shape) for batch in batches[1:])
    if left > ENGINE_WORTH_S and paddle.device.get_device().startswith("cpu"):
        recognize_through_engine(model, images, image_shape, batches[1:], decoder, results)
    else:
        _read(images, batches[1:], decoder, _dygraph(model, image_shape), results)
    return results


def evaluate(model, val_set, image_shape, batch_size, decoder):
    """Returns (metric, [(text, confidence)] in val order, images per second, saving and
    converting included)."""
    was_training = model.training
    model.eval()
    started = time.perf_counter()
    try:
        results = _recognize_fastest(model, val_set.images, image_shape, batch_size, decoder)
    finally:
        if was_training:
            model.train()
    seconds = time.perf_counter() - started
    metric = LineMetric()
    metric.update([text for text, _ in results], val_set.labels)
    return metric, results, len(results) / max(seconds, 1e-9)
