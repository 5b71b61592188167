"""The error-analysis report: its numbers against hand counts, and the page stages/report.py
writes, rendered by headless Chromium with every outside address blocked.

A tiny project: eight rendered validation crops; a weak model (mobile), a strong one (ppocrv4)
and a zero-shot baseline (baseline-ppocrv4), their readings written by hand.
"""

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest

from linerec.metrics import LineMetric, score
from linerec.report import analysis, crops
from tests.conftest import chromium, render_line, run_stage

IMAGES = "data/extracted/train_images"
# (label, mobile's reading, confidence); ppocrv4 and the baseline differ from the labels only
# where READINGS below says.
LINES = [
    ("12", "12", 0.99),                          # 0 correct
    ("345", "845", 0.70),                        # 1 3→8, NED 1/3
    ("67890", "6789", 0.60),                     # 2 0 deleted, NED 1/5
    ("ab<b>&", "ab<b>", 0.95),                   # 3 & deleted, NED 1/6
    ("1 23", "1 23", 0.97),                      # 4 correct (3 characters once spaces go)
    ("0123456789012", "0128456789012", 0.99),    # 5 3→8, NED 1/13
    ("78", "798", 0.40),                         # 6 9 inserted, NED 1/3 (less confident than 1)
    ("56", "50", 0.80),                          # 7 6→0, NED 1/2
]
READINGS = {
    "ppocrv4": {2: "67B90"},
    # Reads the literal text "&lt;": the page must show it as typed, not as "<".
    "baseline-ppocrv4": {3: "ab&lt;b>&", 5: "0123456789"},
}
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=5000",
]


def _image(index):
    return f"{IMAGES}/{index}.jpg"


def _readings(name):
    if name == "mobile":
        return [(prediction, confidence) for _, prediction, confidence in LINES]
    changed = READINGS[name]
    return [(changed.get(i, label), 0.9) for i, (label, _, _) in enumerate(LINES)]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_project")
    (root / IMAGES).mkdir(parents=True)
    for index, (label, _, _) in enumerate(LINES):
        render_line(label).save(root / _image(index), quality=90)
    (root / "params.yaml").write_text("models: [mobile, ppocrv4]\nbaselines: [ppocrv4]\n")
    (root / "data" / "evaluation").mkdir()
    (root / "metrics").mkdir()
    labels = [label for label, _, _ in LINES]
    for name in ("mobile", "ppocrv4", "baseline-ppocrv4"):
        rows = ["image\tlabel\tprediction\tconfidence"]
        rows += [f"{_image(i)}\t{label}\t{text}\t{confidence:.5f}"
                 for i, (label, (text, confidence)) in enumerate(zip(labels, _readings(name)))]
        (root / "data" / "evaluation" / f"{name}.tsv").write_text("\n".join(rows) + "\n",
                                                                   encoding="utf-8")
        result = score([text for text, _ in _readings(name)], labels)
        (root / "metrics" / f"eval_{name}.json").write_text(json.dumps(
            {**result, "not_expressible": 1 if name.startswith("baseline") else 0,
             "images_per_s": 123.4,
             **({"guard_acc": 0.8125, "guard_start_acc": 0.9375} if name == "ppocrv4" else {})}))
    # A model evaluated once but no longer in params.yaml: never reported.
    shutil.copy(root / "data/evaluation/mobile.tsv", root / "data/evaluation/server.tsv")
    return root


@pytest.fixture(scope="module")
def page(project):
    run_stage("report.py", "--evaluations", "data/evaluation", "--metrics", "metrics",
              "--out", "reports/index.html", "--worst", "30", cwd=project, timeout=120)
    assert sorted(p.name for p in (project / "reports").iterdir()) == ["index.html"]
    return project / "reports" / "index.html"


def _lines(project, name):
    return analysis.read_evaluation(project / "data" / "evaluation" / f"{name}.tsv")


# --- the numbers ---------------------------------------------------------------------------

def test_accuracy_by_length_is_the_hand_count(project):
    lines = _lines(project, "mobile")
    buckets = {b.name: (b.count, b.correct) for b in analysis.accuracy_by_length(lines)}
    # 1-2: lines 0, 6, 7 (0 right); 3-5: 1, 2, 4 (4 right); 6-10: 3; 11-25: 5.
    assert buckets == {"1-2": (3, 1), "3-5": (3, 1), "6-10": (1, 0), "11-25": (1, 0)}
    # The same buckets and accuracies as the metric evaluate reports.
    metric = LineMetric()
    metric.update([line.prediction for line in lines], [line.label for line in lines])
    assert {n: (v["count"], v["acc"]) for n, v in metric.accuracy_by_length().items()} == {
        b.name: (b.count, b.acc) for b in analysis.accuracy_by_length(lines)}
    total = sum(b.correct for b in analysis.accuracy_by_length(lines)) / len(lines)
    assert total == metric.result()["acc"] == 2 / 8


def test_accuracy_by_aspect_ratio(project):
    lines = _lines(project, "mobile")
    sizes = {_image(0): (30, 32), _image(1): (100, 32), _image(2): (128, 32),
             _image(3): (300, 32), _image(4): (256, 16), _image(5): (600, 32),
             _image(6): (63, 32)}  # 7: no size, as for a crop that cannot be read
    buckets = {b.name: (b.count, b.correct) for b in analysis.accuracy_by_aspect(lines, sizes)}
    assert buckets == {"< 2": (2, 1), "2–4": (1, 0), "4–8": (1, 0), "8–16": (1, 0),
                       "≥ 16": (2, 1), "unreadable": (1, 0)}
    real = analysis.image_sizes([_image(0), "data/missing.jpg"], root=project)
    assert real[_image(0)][1] == 32 and real["data/missing.jpg"] is None


def test_confusions_are_exact(project):
    found = analysis.confusions(_lines(project, "mobile"))
    assert [(c.label, c.predicted, c.count) for c in found] == [
        ("3", "8", 2), ("", "9", 1), ("&", "", 1), ("0", "", 1), ("6", "0", 1)]
    assert [c.kind for c in found[:3]] == ["substituted", "inserted", "deleted"]
    assert [(c.label, c.predicted, c.count) for c in analysis.confusions(
        _lines(project, "ppocrv4"))] == [("8", "B", 1)]


def test_worst_lines_by_distance_then_confidence(project):
    worst = analysis.worst_lines(_lines(project, "mobile"))
    assert [line.image for line in worst] == [_image(i) for i in (7, 1, 6, 2, 3, 5)]
    assert [line.image for line in analysis.worst_lines(_lines(project, "mobile"), 2)] == [
        _image(7), _image(1)]


def test_baseline_pairing(project):
    base = [analysis.Evaluation("baseline-ppocrv6-small", [], {"acc": 0.9}),
            analysis.Evaluation("baseline-ppocrv6-tiny", [], {"acc": 0.8}),
            analysis.Evaluation("baseline-ppocrv4", [], {"acc": 0.7})]
    assert analysis.pick_baseline("ppocrv4", base).name == "baseline-ppocrv4"
    assert analysis.pick_baseline("ppocrv6", base).name == "baseline-ppocrv6-small"
    assert analysis.pick_baseline("mobile", base).name == "baseline-ppocrv6-small"
    assert analysis.pick_baseline("mobile", []) is None


def test_crops_embed_small_files_and_shrink_big_ones(project, tmp_path):
    small = (project / _image(0)).read_bytes()
    assert crops.data_uri(_image(0), root=project) == (
        "data:image/jpeg;base64," + base64.b64encode(small).decode())
    noise = np.random.default_rng(0).integers(0, 256, (200, 1200, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "big.png"), noise)
    uri = crops.data_uri("big.png", root=tmp_path)
    assert uri.startswith("data:image/jpeg;base64,")
    shrunk = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8),
                          cv2.IMREAD_COLOR)
    assert shrunk.shape[:2] == (64, 384)  # 1200x200 fitted into 480x64, aspect kept
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff" + b"x" * 20000)
    assert crops.data_uri("broken.jpg", root=tmp_path) is None
    assert crops.data_uri("absent.jpg", root=tmp_path) is None


def test_no_evaluations_is_one_line_with_the_fix(tmp_path):
    (tmp_path / "params.yaml").write_text("models: [mobile]\nbaselines: []\n")
    result = run_stage("report.py", "--evaluations", "data/evaluation", "--out", "r.html",
                       cwd=tmp_path, check=False, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "no evaluation files found" in result.stderr
    assert "run dvc repro evaluate first" in result.stderr
    assert not (tmp_path / "r.html").exists()


# --- the page ------------------------------------------------------------------------------

class _Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.images, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_data(self, data):
        self.text.append(data)


def test_page_renders_offline_with_embedded_crops_and_escaped_text(page, tmp_path):
    result = subprocess.run(
        [chromium("the report"), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         page.resolve().as_uri()], capture_output=True, text=True, timeout=60)
    dom = result.stdout
    assert result.returncode == 0 and "<body" in dom, result.stderr[-3000:]
    parsed = _Dom()
    parsed.feed(dom)
    text = "".join(parsed.text)

    # Summary; per model length, aspect, its and the baseline's confusions, worst lines; the
    # baseline's own section: length, aspect, confusions (its worst lines: only with no model).
    assert parsed.tags.count("table") == 1 + 2 * 5 + 3
    for name in ("mobile", "ppocrv4", "baseline-ppocrv4"):
        assert f'id="m-{name}"' in dom
    assert "server" not in text  # not in params.yaml: its leftover file is not read
    # Worst lines: mobile's 6 wrong lines and ppocrv4's one, each with its crop inline.
    assert len(parsed.images) == 7
    assert all(src.startswith("data:image/jpeg;base64,") for src in parsed.images)
    # Labels and readings are text, never markup: no <b> element, the literal "&lt;" kept.
    assert "b" not in parsed.tags
    assert "ab<b>&" in text and "ab&lt;b>&" in text
    # Nothing from outside: no address with a scheme or a protocol-relative one.
    assert not re.search(r"https?:", dom)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*//""", dom)
    assert "<script" not in dom
    # Headline numbers from metrics/eval_*.json, as the metric computed them.
    assert "0.2500" in text and "0.8750" in text
    # The guard beside them, and how far the fine-tune fell from its start's guard score.
    assert "0.8125" in text and "-12.5" in text


def test_metrics_found_in_either_layout(tmp_path):
    # metrics/eval_<name>.json as evaluate writes it today, or data/evaluation/<name>.json beside
    # the readings (what the report stage then reads with --metrics data/evaluation).
    (tmp_path / "eval_mobile.json").write_text('{"acc": 0.5}')
    (tmp_path / "ppocrv4.json").write_text('{"acc": 0.75}')
    assert analysis.read_metrics(tmp_path, "mobile") == {"acc": 0.5}
    assert analysis.read_metrics(tmp_path, "ppocrv4") == {"acc": 0.75}
    with pytest.raises(analysis.PipelineError, match="file not found"):
        analysis.read_metrics(tmp_path, "ppocrv6")
