"""Line accuracy and 1 - normalised edit distance, as PaddleOCR's RecMetric reports them.

PaddleOCR removes spaces from both prediction and target before comparing (ignore_space), counts
an exact match as correct, and averages Levenshtein distance divided by the longer string's length.
"""

from collections import defaultdict

from rapidfuzz.distance import Levenshtein

LENGTH_BUCKETS = ((1, 2), (3, 5), (6, 10), (11, 25), (26, None))


def _bucket_name(length):
    for low, high in LENGTH_BUCKETS:
        if length >= low and (high is None or length <= high):
            return f"{low}-{high}" if high is not None else f"{low}+"
    return "0"


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
            if self.ignore_space:
                prediction = prediction.replace(" ", "")
                target = target.replace(" ", "")
            hit = prediction == target
            self.correct += hit
            self.edit_distance_sum += Levenshtein.normalized_distance(prediction, target)
            self.count += 1
            bucket = self.by_length[_bucket_name(len(target))]
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
                for name, (total, hits) in sorted(self.by_length.items(), key=_bucket_order)}


def _bucket_order(item):
    name = item[0]
    return int(name.split("-")[0].rstrip("+"))


def score(predictions, targets, ignore_space=True):
    metric = LineMetric(ignore_space)
    metric.update(predictions, targets)
    return metric.result()
