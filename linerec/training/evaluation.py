"""Validation: a model over a loader, decoded greedily and scored as PaddleOCR scores it."""

import time

import paddle

from linerec.metrics import LineMetric


@paddle.no_grad()
def evaluate(model, loader, targets, decoder):
    """Returns (metric, predictions, images per second); targets are in loader order."""
    was_training = model.training
    model.eval()
    metric = LineMetric()
    predictions = []
    started = time.perf_counter()
    for images, *_ in loader:
        probabilities = model(images)
        texts = [text for text, _ in decoder(probabilities.numpy())]
        metric.update(texts, targets[len(predictions):len(predictions) + len(texts)])
        predictions.extend(texts)
    seconds = time.perf_counter() - started
    if was_training:
        model.train()
    return metric, predictions, len(predictions) / max(seconds, 1e-9)
