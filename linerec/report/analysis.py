"""The numbers of the error-analysis report, from evaluate's per-line readings.

A line is scored as PaddleOCR's metric scores it (linerec.metrics.LineMetric): spaces removed
from label and prediction, an exact match is correct, and the distance is Levenshtein's divided
by the longer string's length. Bucket accuracies therefore add up to the headline accuracy.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from linerec.errors import PipelineError
from linerec.metrics import LENGTH_ORDER, comparable, compare, length_bucket

HEADER = ("image", "label", "prediction", "confidence")
BASELINE_PREFIX = "baseline-"
# Width / height of the crop: lower bound inclusive, upper exclusive (None: open).
ASPECT_BUCKETS = ((0, 2), (2, 4), (4, 8), (8, 16), (16, None))
UNREADABLE = "unreadable"
REPRO_FIX = "run dvc repro evaluate evaluate_baseline first (each writes data/evaluation/<name>.tsv)"


@dataclass(frozen=True)
class Line:
    """One validation line as a model read it."""

    image: str
    label: str
    prediction: str
    confidence: float

    @property
    def target(self):
        return comparable(self.label)

    @property
    def reading(self):
        return comparable(self.prediction)

    @property
    def correct(self):
        return self.reading == self.target

    @property
    def distance(self):
        """Normalised edit distance, 0 (exact) to 1."""
        return compare(self.prediction, self.label)[1]


@dataclass
class Bucket:
    name: str
    count: int = 0
    correct: int = 0
    distance_sum: float = 0.0

    @property
    def acc(self):
        return self.correct / self.count if self.count else 0.0

    @property
    def one_minus_ned(self):
        return 1.0 - self.distance_sum / self.count if self.count else 0.0

    def add(self, line):
        self.count += 1
        self.correct += line.correct
        self.distance_sum += line.distance


@dataclass(frozen=True)
class Confusion:
    """``label`` read as ``predicted``; one of them is "" for a deletion or an insertion."""

    label: str
    predicted: str
    count: int

    @property
    def kind(self):
        if not self.predicted:
            return "deleted"
        return "inserted" if not self.label else "substituted"


@dataclass
class Evaluation:
    """One model's (or zero-shot baseline's) readings of the validation lines, and its metrics."""

    name: str
    lines: list
    metrics: dict = field(default_factory=dict)

    @property
    def is_baseline(self):
        return self.name.startswith(BASELINE_PREFIX)

    def by_image(self):
        return {line.image: line for line in self.lines}


# --- reading -------------------------------------------------------------------------------

def read_evaluation(path):
    """The lines of one data/evaluation/<name>.tsv, as stages/evaluate.py writes it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError("file not found", where=str(path), fix=REPRO_FIX) from None
    except UnicodeDecodeError as error:
        raise PipelineError(f"not UTF-8 ({error.reason})", where=str(path),
                            fix=REPRO_FIX) from None
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    if not rows or tuple(rows[0].split("\t")) != HEADER:
        raise PipelineError("expected the header " + "\\t".join(HEADER), where=f"{path}: line 1",
                            fix=REPRO_FIX)
    lines = []
    for number, row in enumerate(rows[1:], start=2):
        fields = row.split("\t")
        if len(fields) != len(HEADER):
            raise PipelineError(f"expected {len(HEADER)} tab-separated fields, got {len(fields)}",
                                where=f"{path}: line {number}", fix=REPRO_FIX)
        try:
            confidence = float(fields[3])
        except ValueError:
            raise PipelineError(f"confidence {fields[3]!r} is not a number",
                                where=f"{path}: line {number}", fix=REPRO_FIX) from None
        lines.append(Line(fields[0], fields[1], fields[2], confidence))
    return lines


def metrics_path(metrics_dir, name):
    """evaluate's metrics file for ``name``: <dir>/eval_<name>.json, or <dir>/<name>.json."""
    metrics_dir = Path(metrics_dir)
    for candidate in (metrics_dir / f"eval_{name}.json", metrics_dir / f"{name}.json"):
        if candidate.is_file():
            return candidate
    return metrics_dir / f"eval_{name}.json"


def read_metrics(metrics_dir, name):
    path = metrics_path(metrics_dir, name)
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError("file not found", where=str(path), fix=REPRO_FIX) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PipelineError(f"not valid JSON ({error})", where=str(path), fix=REPRO_FIX) from None
    if not isinstance(metrics, dict):
        raise PipelineError("expected a JSON object", where=str(path), fix=REPRO_FIX)
    return metrics


def load_evaluations(evaluations_dir, metrics_dir, names):
    """Evaluation objects for ``names``, in that order; every one must have been evaluated."""
    evaluations_dir = Path(evaluations_dir)
    found = sorted(evaluations_dir.glob("*.tsv")) if evaluations_dir.is_dir() else []
    if not found:
        raise PipelineError("no evaluation files found", where=str(evaluations_dir),
                            fix="run dvc repro evaluate first")
    missing = [name for name in names if not (evaluations_dir / f"{name}.tsv").is_file()]
    if missing:
        raise PipelineError(f"no evaluation of {', '.join(missing)} (found "
                            f"{', '.join(p.stem for p in found)})", where=str(evaluations_dir),
                            fix=REPRO_FIX)
    return [Evaluation(name, read_evaluation(evaluations_dir / f"{name}.tsv"),
                       read_metrics(metrics_dir, name)) for name in names]


def image_sizes(paths, root="."):
    """{path: (width, height)} from each image's header; None where it cannot be read."""
    from PIL import Image

    sizes = {}
    for path in paths:
        if path in sizes:
            continue
        try:
            with Image.open(Path(root) / path) as image:
                sizes[path] = image.size
        except (OSError, ValueError, Image.DecompressionBombError):
            sizes[path] = None
    return sizes


# --- breakdowns ----------------------------------------------------------------------------

def _aspect_name(low, high):
    if high is None:
        return f"≥ {low}"
    return f"< {high}" if low == 0 else f"{low}–{high}"


def aspect_bucket(size):
    if not size or not size[1]:
        return UNREADABLE
    ratio = size[0] / size[1]
    for low, high in ASPECT_BUCKETS:
        if ratio >= low and (high is None or ratio < high):
            return _aspect_name(low, high)
    return UNREADABLE


ASPECT_ORDER = tuple(_aspect_name(*b) for b in ASPECT_BUCKETS) + (UNREADABLE,)


def _breakdown(lines, key, order):
    buckets = {}
    for line in lines:
        name = key(line)
        buckets.setdefault(name, Bucket(name)).add(line)
    return [buckets[name] for name in order if name in buckets]


def accuracy_by_length(lines):
    """Buckets of label length in characters, spaces removed (as the metric compares)."""
    return _breakdown(lines, lambda line: length_bucket(len(line.target)), LENGTH_ORDER)


def accuracy_by_aspect(lines, sizes):
    """Buckets of crop width / height; ``sizes`` from image_sizes."""
    return _breakdown(lines, lambda line: aspect_bucket(sizes.get(line.image)), ASPECT_ORDER)


# --- errors --------------------------------------------------------------------------------

def confusions(lines):
    """Character edits that turn labels into predictions (rapidfuzz's Levenshtein editops on the
    space-free strings), most frequent first: substitutions (label char → predicted char),
    deletions (char → "") and insertions ("" → char)."""
    counts = Counter()
    for line in lines:
        target, reading = line.target, line.reading
        if target == reading:
            continue
        for tag, source, dest in Levenshtein.editops(target, reading):
            if tag == "replace":
                counts[target[source], reading[dest]] += 1
            elif tag == "delete":
                counts[target[source], ""] += 1
            else:
                counts["", reading[dest]] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [Confusion(label, predicted, count) for (label, predicted), count in ranked]


def worst_lines(lines, top=None):
    """Wrong lines, worst first: largest normalised edit distance, then the most confident
    (a confident wrong reading is the worse one), then by image path."""
    wrong = [line for line in lines if not line.correct]
    wrong.sort(key=lambda line: (-line.distance, -line.confidence, line.image))
    return wrong if top is None else wrong[:top]


def edit_marks(label, prediction):
    """(label positions, prediction positions) that an edit touches, for highlighting: deleted
    or substituted label characters, inserted or substituted predicted ones. Spaces, which the
    metric ignores, are never marked."""
    in_label, in_prediction = set(), set()
    for tag, source, dest in Levenshtein.editops(label, prediction):
        if tag in ("replace", "delete") and label[source] != " ":
            in_label.add(source)
        if tag in ("replace", "insert") and prediction[dest] != " ":
            in_prediction.add(dest)
    return in_label, in_prediction


def pick_baseline(name, baselines):
    """The zero-shot baseline a trained model is read against: ``baseline-<name>`` if evaluated,
    else the most accurate ``baseline-<name>-*`` (same family), else the most accurate one.
    ``baselines``: Evaluation objects. None when there is no baseline."""
    if not baselines:
        return None

    def best(candidates):
        return max(candidates, key=lambda e: (e.metrics.get("acc", 0.0), e.name))

    for baseline in baselines:
        if baseline.name == BASELINE_PREFIX + name:
            return baseline
    family = [b for b in baselines if b.name.startswith(f"{BASELINE_PREFIX}{name}-")]
    return best(family or baselines)
