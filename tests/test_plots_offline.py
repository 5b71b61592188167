"""`dvc plots show` pages must render without network access.

dvc_render's default page loads vega, vega-lite and vega-embed from cdn.jsdelivr.net, so offline
(training servers, CI sandboxes) the page is blank. The project's .dvc/config points
plots.html_template at plots/template.html, which inlines the three libraries (rebuilt by
scripts/plots_template.py). Here a tiny DVC project with the same config renders two plots, and
headless Chromium, with every outside address blocked, must draw a chart in each plot div, while
the default template's page, opened the same way, references the CDN and draws nothing.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from tests.conftest import ROOT, chromium

TEMPLATE = ROOT / "plots" / "template.html"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # Nothing may come from outside: no proxy answers and no host name resolves.
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=10000",
]
REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.IGNORECASE)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def _dvc(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout.strip()


def _dump_dom(page, profile):
    result = subprocess.run(
        [chromium("the plots page"), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
         page.resolve().as_uri()],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0 and "<body" in result.stdout, (
        f"chromium --dump-dom failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


class _Marks(HTMLParser):
    """Ids of the plot divs that contain a vega-embed chart (<svg>/<canvas> of class marks)."""

    def __init__(self):
        super().__init__()
        self.stack = []  # (tag, id)
        self.charted = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("svg", "canvas") and "marks" in (attrs.get("class") or "").split():
            self.charted.update(i for _, i in self.stack if i)
        if tag not in VOID:
            self.stack.append((tag, attrs.get("id")))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                break


def _charted_divs(dom):
    parser = _Marks()
    parser.feed(dom)
    return parser.charted


def _plot_ids(page_source):
    return re.findall(r"vegaEmbed\('#([^']+)'", page_source)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A tiny DVC project; its plots page with the default template, then with the project's."""
    project = tmp_path_factory.mktemp("plots_project")
    _dvc("init", "--no-scm", "-q", cwd=project)
    (project / "loss.tsv").write_text("step\tloss\n0\t2.0\n1\t1.4\n2\t0.9\n3\t0.7\n")
    (project / "acc.tsv").write_text("step\tacc\n0\t0.1\n1\t0.5\n2\t0.8\n")
    (project / "dvc.yaml").write_text(
        "plots:\n"
        "  - Training loss:\n"
        "      template: linear\n"
        "      x: step\n"
        "      y:\n"
        "        loss.tsv: loss\n"
        "  - acc.tsv:\n"
        "      x: step\n"
        "      y: acc\n"
    )
    _dvc("plots", "show", "-o", "out_default", cwd=project)

    # The repository's own setting, copied with the template to the same relative place.
    setting = _dvc("config", "--project", "plots.html_template", cwd=ROOT)
    template = (ROOT / ".dvc" / setting).resolve()
    assert template == TEMPLATE.resolve(), f".dvc/config plots.html_template is {setting!r}"
    copied = project / ".dvc" / setting
    copied.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, copied)
    _dvc("config", "plots.html_template", setting, cwd=project)
    _dvc("plots", "show", "-o", "out", cwd=project)
    return {"default": project / "out_default" / "index.html",
            "offline": project / "out" / "index.html",
            "profile": tmp_path_factory.mktemp("chromium_profile")}


def test_project_template_renders_charts_offline(pages):
    source = pages["offline"].read_text(encoding="utf-8")
    assert not REMOTE_SCRIPT.search(source), "the plots page loads a script over the network"
    assert "cdn.jsdelivr.net" not in source
    ids = _plot_ids(source)
    assert len(ids) == 2, f"expected the two plots of dvc.yaml, found {ids}"

    dom = _dump_dom(pages["offline"], pages["profile"])
    assert not REMOTE_SCRIPT.search(dom)
    missing = set(ids) - _charted_divs(dom)
    assert not missing, f"no chart drawn offline in plot div(s) {sorted(missing)}"


def test_default_template_needs_the_cdn(pages):
    """The check above can fail: dvc's own page references the CDN and stays blank offline."""
    source = pages["default"].read_text(encoding="utf-8")
    assert REMOTE_SCRIPT.search(source) and "cdn.jsdelivr.net" in source
    ids = _plot_ids(source)
    assert len(ids) == 2
    dom = _dump_dom(pages["default"], pages["profile"])
    assert not _charted_divs(dom) & set(ids), "the network was reachable: a CDN script loaded"


def test_template_header_matches_generator():
    """plots/template.html was built from the versions scripts/plots_template.py pins."""
    spec = importlib.util.spec_from_file_location("plots_template",
                                                  ROOT / "scripts" / "plots_template.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    header = TEMPLATE.read_text(encoding="utf-8")[:8000]
    for name, version in generator.PACKAGES:
        assert f"{name}@{version} " in header, f"{name}@{version} missing: rerun the generator"
        assert f"{name} licence (BSD-3-Clause)" in header
    assert TEMPLATE.stat().st_size < 2_000_000
