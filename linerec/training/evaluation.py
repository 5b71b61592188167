"""Validation as the exported model is judged: every line against its raw label, each crop
prepared exactly as the predict stage prepares it (paddleocr TextRecognizer's batches).

Nothing is filtered through the model's dictionary: a label character the model cannot emit
counts against it, as it would on the competition's test set. How many lines that affects is
reported beside the score (``not_expressible``).
"""

import time

import paddle

from linerec.data.label_lines import read_label_lines
from linerec.errors import PipelineError
from linerec.inference.preprocess import batch_input, ratio_batches, read_image
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


@paddle.no_grad()
def recognize(model, images, image_shape, batch_size, decoder):
    """[(text, confidence)] for crops (BGR uint8), in input order, from an eval-mode model."""
    results = [None] * len(images)
    for batch in ratio_batches(images, batch_size):
        inputs = paddle.to_tensor(batch_input([images[i] for i in batch], image_shape))
        probabilities = model(inputs).numpy()
        for index, result in zip(batch, decoder(probabilities)):
            results[index] = (result[0], float(result[1]))
    return results


def evaluate(model, val_set, image_shape, batch_size, decoder):
    """Returns (metric, [(text, confidence)] in val order, images per second)."""
    was_training = model.training
    model.eval()
    started = time.perf_counter()
    try:
        results = recognize(model, val_set.images, image_shape, batch_size, decoder)
    finally:
        if was_training:
            model.train()
    seconds = time.perf_counter() - started
    metric = LineMetric()
    metric.update([text for text, _ in results], val_set.labels)
    return metric, results, len(results) / max(seconds, 1e-9)
