"""The error-analysis page: one static HTML file, plain HTML and CSS, no script and nothing
loaded from elsewhere (crops are data: URIs). Every piece of text is escaped."""

import re
from html import escape

from linerec.report import analysis
from linerec.report.crops import data_uri

TITLE = "Validation error analysis"
CSS = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d8dee4; --head: #f3f5f7; --bar: #cfe3fb;
        --good: #1a7f37; --bad: #cf222e; --page: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Noto Sans SC",
             "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 20px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 6px; }
h3 { font-size: 14px; margin: 18px 0 6px; color: var(--ink); }
p { margin: 4px 0; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.lede, .note, caption { color: var(--muted); }
nav { margin: 10px 0 16px; }
nav a { display: inline-block; margin: 2px 6px 2px 0; padding: 1px 9px; border: 1px solid var(--line);
        border-radius: 999px; background: #fff; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px;
        margin: 0 0 18px; }
.tag { display: inline-block; margin-left: 6px; padding: 0 8px; border-radius: 999px;
       font-size: 12px; font-weight: 500; vertical-align: middle; background: #ddf4ff;
       color: #0550ae; }
.tag.zero { background: #eef1f4; color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr));
        gap: 0 24px; align-items: start; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { caption-side: bottom; text-align: left; font-size: 12px; padding-top: 4px; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: middle; }
thead th { background: var(--head); font-weight: 600; font-size: 12px; white-space: nowrap; }
thead tr.group th { border-bottom: 0; text-align: center; color: var(--muted); }
tbody tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.bar { background: linear-gradient(to right, var(--bar) var(--v), transparent var(--v)); }
.best { font-weight: 700; }
.pos { color: var(--good); }
.neg { color: var(--bad); }
.ch { font-size: 17px; text-align: center; width: 3em; }
th.ch { font-size: 12px; }
table.confusions td { padding-top: 1px; padding-bottom: 1px; }
.arrow { color: var(--muted); text-align: center; width: 1.5em; }
.none { color: var(--muted); font-style: italic; font-size: 12px; }
.text { font-size: 16px; white-space: pre-wrap; word-break: break-all; }
mark { background: #ffebe9; color: var(--bad); border-radius: 2px; padding: 0 1px; }
mark.ins { background: #fff1c2; color: #7d4e00; }
.ok { color: var(--good); font-weight: 700; }
.crop img { display: block; max-height: 48px; max-width: 340px; border: 1px solid var(--line);
            background: #fff; }
.crop .path { display: block; font-size: 11px; color: var(--muted); max-width: 340px;
              overflow-wrap: anywhere; }
table.worst td { padding-top: 6px; padding-bottom: 6px; }
.rank { color: var(--muted); width: 2em; }
"""


def _pct(value, digits=1):
    return f"{100 * value:.{digits}f} %"


def _num(value, fmt):
    return "–" if value is None else format(value, fmt)


def _anchor(name):
    return "m-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _text(text, marks=(), css="del"):
    """Escaped text; characters at ``marks`` wrapped in <mark>."""
    if not text:
        return '<span class="none">(empty)</span>'
    return "".join(f'<mark class="{css}">{escape(c)}</mark>' if i in marks else escape(c)
                   for i, c in enumerate(text))


def _char(char):
    if not char:
        return '<td class="ch none" title="nothing">∅</td>'
    shown = "␣" if char == " " else escape(char)
    return f'<td class="ch" title="U+{ord(char):04X}">{shown}</td>'


def _acc_cell(value, best=False):
    if value is None:
        return '<td class="num">–</td>'
    css = "num bar best" if best else "num bar"
    return f'<td class="{css}" style="--v:{100 * value:.1f}%">{_pct(value)}</td>'


def _delta_cell(value):
    if value is None:
        return '<td class="num">–</td>'
    css = "pos" if value > 0.0005 else "neg" if value < -0.0005 else ""
    return f'<td class="num {css}">{100 * value:+.1f}</td>'


# --- sections ------------------------------------------------------------------------------

def _summary(evaluations):
    rows = []
    accs = [e.metrics.get("acc") for e in evaluations if e.metrics.get("acc") is not None]
    neds = [e.metrics.get("norm_edit_dis") for e in evaluations
            if e.metrics.get("norm_edit_dis") is not None]
    for evaluation in evaluations:
        m = evaluation.metrics
        acc, ned = m.get("acc"), m.get("norm_edit_dis")
        kind = ('<span class="tag zero">zero-shot</span>' if evaluation.is_baseline
                else '<span class="tag">trained</span>')
        rows.append(
            f'<tr><td><a href="#{_anchor(evaluation.name)}">{escape(evaluation.name)}</a></td>'
            f"<td>{kind}</td>"
            f'<td class="num">{m.get("count", len(evaluation.lines))}</td>'
            f"{_acc_cell(acc, best=bool(accs) and acc == max(accs))}"
            f'<td class="num{" best" if neds and ned == max(neds) else ""}">'
            f"{_num(ned, '.4f')}</td>"
            f'<td class="num">{_num(m.get("not_expressible"), "d")}</td>'
            f"{_guard_cells(m)}"
            f'<td class="num">{_num(m.get("images_per_s"), ".1f")}</td></tr>')
    return (
        '<section class="card" id="summary"><h2>All models</h2>'
        "<table><thead><tr><th>model</th><th>kind</th><th class=num>val lines</th>"
        "<th class=num>acc</th><th class=num>1 − NED</th><th class=num>not expressible</th>"
        "<th class=num>guard acc</th><th class=num>vs start</th>"
        "<th class=num>img/s</th></tr></thead><tbody>" + "".join(rows) + "</tbody>"
        "<caption>acc: exact match, spaces removed (PaddleOCR's metric); 1 − NED: one minus "
        "the mean normalised edit distance; not expressible: lines with a character outside "
        "the model's dictionary; guard acc: acc on the guard set of general text (guard.dir), "
        "and for a fine-tune its change from its pretrained start, in points (a fall means it "
        "forgot); img/s: evaluation speed on the machine that ran it. "
        "Best in bold.</caption></table></section>")


def _guard_cells(metrics):
    guard, start = metrics.get("guard_acc"), metrics.get("guard_start_acc")
    return (f'<td class="num">{_num(guard, ".4f")}</td>'
            f"{_delta_cell(guard - start if guard is not None and start is not None else None)}")


def _breakdown_table(title, unit, model, baseline, buckets_of):
    mine = {b.name: b for b in buckets_of(model)}
    theirs = {b.name: b for b in buckets_of(baseline)} if baseline else {}
    names = list(mine) + [n for n in theirs if n not in mine]
    rows = []
    for name in names:
        ours, base = mine.get(name), theirs.get(name)
        count = ours.count if ours else base.count
        row = (f"<tr><td>{escape(name)}</td><td class=num>{count}</td>"
               f"{_acc_cell(ours.acc if ours else None)}")
        if baseline:
            delta = ours.acc - base.acc if ours and base else None
            row += f"{_acc_cell(base.acc if base else None)}{_delta_cell(delta)}"
        row += f'<td class="num">{_num(ours.one_minus_ned if ours else None, ".3f")}</td>'
        if baseline:
            row += f'<td class="num">{_num(base.one_minus_ned if base else None, ".3f")}</td>'
        rows.append(row + "</tr>")
    if baseline:
        head = (f'<tr class="group"><th></th><th></th><th colspan=3>accuracy</th>'
                f"<th colspan=2>1 − NED</th></tr>"
                f"<tr><th>{escape(unit)}</th><th class=num>lines</th>"
                f"<th class=num>{escape(model.name)}</th><th class=num>baseline</th>"
                f"<th class=num>Δ pts</th><th class=num>{escape(model.name)}</th>"
                f"<th class=num>baseline</th></tr>")
    else:
        head = (f"<tr><th>{escape(unit)}</th><th class=num>lines</th><th class=num>accuracy</th>"
                f"<th class=num>1 − NED</th></tr>")
    body = "".join(rows) or '<tr><td class="none" colspan=7>no lines</td></tr>'
    return (f"<div><h3>{escape(title)}</h3><table><thead>{head}</thead>"
            f"<tbody>{body}</tbody></table></div>")


def _confusion_table(evaluation, top):
    found = analysis.confusions(evaluation.lines)
    total = sum(c.count for c in found)
    rows = "".join(
        f'<tr>{_char(c.label)}<td class="arrow">→</td>{_char(c.predicted)}'
        f"<td>{c.kind}</td><td class=num>{c.count}</td></tr>" for c in found[:top])
    if not rows:
        rows = '<tr><td class="none" colspan=5>no errors</td></tr>'
    return (f"<div><h3>Most confused characters: {escape(evaluation.name)}</h3>"
            "<table class=confusions><thead><tr><th class=ch>label</th><th></th><th class=ch>read as</th>"
            "<th>edit</th><th class=num>times</th></tr></thead>"
            f"<tbody>{rows}</tbody><caption>top {min(top, len(found))} of {len(found)} distinct "
            f"edits ({total} in all), label aligned with prediction by Levenshtein editops; "
            "∅: nothing (a deleted or inserted character).</caption></table></div>")


def _reading_cell(line):
    """A prediction with its wrong characters marked, in a table cell."""
    _, marks = analysis.edit_marks(line.label, line.prediction)
    ok = ' <span class="ok" title="correct">✓</span>' if line.correct else ""
    return f'<td class="text">{_text(line.prediction, marks, "ins")}{ok}</td>'


def _worst_table(evaluation, baseline, top, crop):
    wrong = analysis.worst_lines(evaluation.lines)
    shown = wrong[:top]
    base_lines = baseline.by_image() if baseline else {}
    rows = []
    for rank, line in enumerate(shown, start=1):
        uri = crop(line.image)
        image = (f'<img src="{escape(uri)}" alt="crop {escape(line.image)}">' if uri
                 else '<span class="none">image unreadable</span>')
        label_marks, _ = analysis.edit_marks(line.label, line.prediction)
        row = (f'<tr><td class="rank">{rank}</td>'
               f'<td class="crop">{image}<span class="path">{escape(line.image)}</span></td>'
               f'<td class="text">{_text(line.label, label_marks, "del")}</td>'
               f"{_reading_cell(line)}"
               f"<td class=num>{line.confidence:.3f}</td><td class=num>{line.distance:.2f}</td>")
        if baseline:
            other = base_lines.get(line.image)
            row += _reading_cell(other) if other else '<td class="none">–</td>'
        rows.append(row + "</tr>")
    base_head = "<th>baseline read</th>" if baseline else ""
    body = "".join(rows) or '<tr><td class="none" colspan=7>every line is read correctly</td></tr>'
    return (f"<h3>Worst {len(shown)} of {len(wrong)} wrong lines</h3>"
            '<table class="worst"><thead><tr><th>#</th><th>crop</th><th>label</th>'
            f"<th>prediction</th><th class=num>confidence</th><th class=num>NED</th>{base_head}"
            f"</tr></thead><tbody>{body}</tbody><caption>Sorted by normalised edit distance, "
            "then confidence (a confident wrong reading first). Marked: label characters the "
            "model missed or misread, predicted characters that are wrong.</caption></table>")


def _model_section(evaluation, baseline, sizes, worst, top_confusions, crop):
    kind = ('<span class="tag zero">zero-shot</span>' if evaluation.is_baseline
            else '<span class="tag">trained</span>')
    m = evaluation.metrics
    headline = (f"{len(evaluation.lines)} validation lines · acc {_num(m.get('acc'), '.4f')} · "
                f"1 − NED {_num(m.get('norm_edit_dis'), '.4f')}")
    if baseline is not None:
        bm = baseline.metrics
        headline += (f". Read against the zero-shot <a href=\"#{_anchor(baseline.name)}\">"
                     f"{escape(baseline.name)}</a> (acc {_num(bm.get('acc'), '.4f')}), "
                     "the column marked baseline.")
    parts = [
        f'<section class="card" id="{_anchor(evaluation.name)}">'
        f"<h2>{escape(evaluation.name)}{kind}</h2><p class=note>{headline}</p>",
        '<div class="grid">',
        _breakdown_table("Accuracy by label length", "characters", evaluation, baseline,
                         lambda e: analysis.accuracy_by_length(e.lines)),
        _breakdown_table("Accuracy by aspect ratio", "width / height", evaluation, baseline,
                         lambda e: analysis.accuracy_by_aspect(e.lines, sizes)),
        "</div>",
        '<div class="grid">',
        _confusion_table(evaluation, top_confusions),
        _confusion_table(baseline, top_confusions) if baseline else "",
        "</div>",
    ]
    if worst:
        parts.append(_worst_table(evaluation, baseline, worst, crop))
    parts.append("</section>")
    return "".join(parts)


def render(evaluations, sizes, worst=30, top_confusions=12, crop=data_uri):
    """The whole page. ``evaluations``: analysis.Evaluation objects, trained models and
    baselines; ``sizes``: analysis.image_sizes of their images; ``crop``: path → data: URI."""
    trained = [e for e in evaluations if not e.is_baseline]
    baselines = [e for e in evaluations if e.is_baseline]
    count = max((len(e.lines) for e in evaluations), default=0)
    sections = []
    for evaluation in evaluations:
        if evaluation.is_baseline:
            # A baseline gets its own section; its worst lines only when nothing was trained.
            sections.append(_model_section(evaluation, None, sizes, 0 if trained else worst,
                                           top_confusions, crop))
        else:
            baseline = analysis.pick_baseline(evaluation.name, baselines)
            sections.append(_model_section(evaluation, baseline, sizes, worst, top_confusions,
                                           crop))
    nav = "".join(f'<a href="#{_anchor(e.name)}">{escape(e.name)}</a>' for e in evaluations)
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-Hans\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{TITLE}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>{TITLE}</h1><p class=lede>{len(evaluations)} readers on {count} "
        "validation lines, scored as PaddleOCR scores them (spaces removed; exact match "
        "correct; Levenshtein distance over the longer string).</p>"
        f'<nav><a href="#summary">summary</a>{nav}</nav></header>'
        + _summary(evaluations) + "".join(sections) + "</main></body></html>\n")
