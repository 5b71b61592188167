"""Line accuracy and 1 - normalised edit distance, as PaddleOCR's RecMetric reports them.

PaddleOCR removes spaces from both prediction and target before comparing (ignore_space), counts
an exact match as correct, and averages Levenshtein distance divided by the longer string's length.
"""

from collections import defaultdict

from rapidfuzz.distance import Levenshtein

LENGTH_BUCKETS = ((1, 2), (3, 5), (6, 10), (11, 25), (26, None))


def _bucket_label(low, high):
    return f"{low}-{high}" if high is not None else f"{low}+"


# Every length bucket's name in order ("0": a label of spaces only).
LENGTH_ORDER = ("0",) + tuple(_bucket_label(low, high) for low, high in LENGTH_BUCKETS)


def length_bucket(length):
    """The name of the bucket a label of ``length`` characters (spaces removed) falls in."""
    for low, high in LENGTH_BUCKETS:
        if length >= low and (high is None or length <= high):
            return _bucket_label(low, high)
    return "0"


def comparable(text, ignore_space=True):
    """The text as PaddleOCR compares it: without spaces (ignore_space)."""
    return text.replace(" ", "") if ignore_space else text


def compare(prediction, target, ignore_space=True):
    """(exact match, normalised edit distance) of one line, as PaddleOCR compares them."""
    prediction, target = comparable(prediction, ignore_space), comparable(target, ignore_space)
    return prediction == target, Levenshtein.normalized_distance(prediction, target)


class LineMetric:
    """Accumulates predictions against targets; ``result()`` gives the PaddleOCR figures."""

    def __init__(self, ignore_space=True):
        self.ignore_space = ignore_space
        self.count = 0
        self.correct = 0
        self.edit_distance_sum = 0.0
        self.by_length = defaultdict(lambda: [0, 0])

    def update(self, predictions, targets):
        for prediction, target in zip(predictions, targets, strict=True):
            hit, distance = compare(prediction, target, self.ignore_space)
            self.correct += hit
            self.edit_distance_sum += distance
            self.count += 1
            bucket = self.by_length[length_bucket(len(comparable(target, self.ignore_space)))]
            bucket[0] += 1
            bucket[1] += hit

    def result(self):
        count = max(self.count, 1)
        return {
            "acc": self.correct / count,
            "norm_edit_dis": 1.0 - self.edit_distance_sum / count,
            "count": self.count,
        }

    def accuracy_by_length(self):
        return {name: {"count": total, "acc": hits / total}
                for name, (total, hits) in sorted(self.by_length.items(),
                                                  key=lambda item: LENGTH_ORDER.index(item[0]))}


def score(predictions, targets, ignore_space=True):
    metric = LineMetric(ignore_space)
    metric.update(predictions, targets)
    return metric.result()
