"""The split stage's reports: summary.md for people, data_report.json with every counter, and
metrics/data.json with the few numbers `dvc metrics show` should put in a row."""

from linerec.data.paths import EXTRACTED_DIR, PROBLEMS

TOP_OFFENDERS = 20

_ROWS = (
    ("lines", "lines"),
    ("out_of_dict_lines", "lines with characters outside the dictionary"),
    ("out_of_dict_distinct_chars", "distinct characters outside the dictionary"),
    ("altered_lines", "kept, with those characters silently removed"),
    ("dropped_empty", "dropped: nothing left after removing them"),
    ("dropped_too_long", "dropped: longer than max_text_length"),
    ("dropped_total", "dropped in all"),
    ("max_length", "longest label (characters)"),
)


def numbers_only(tree):
    """The numeric leaves of a JSON tree (no strings, lists or booleans), nesting kept."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            inner = numbers_only(value)
            if inner:
                out[key] = inner
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = value
    return out


def metrics(chars, use_space_char, checks, extract_report):
    split = {part: check.metrics() for part, check in checks.items()}
    split["dictionary_size"] = len(chars)
    split["num_classes"] = len(chars) + 1 + int(use_space_char)  # CTC blank, dictionary, space
    return {"extract": numbers_only(extract_report), "split": split}


def headline(report):
    split = report["split"]
    return {
        "train_lines": split["train"]["lines"], "val_lines": split["val"]["lines"],
        "dictionary_size": split["dictionary_size"],
        "data_problems": report["extract"].get("problems_total", 0),
        "train_dropped": split["train"]["dropped_total"],
        "val_out_of_dict_lines": split["val"]["out_of_dict_lines"],
    }


def summary_markdown(settings, chars, checks, extract_report):
    train, val = checks["train"], checks["val"]
    mode = settings["mode"]
    how = {"tail": f"the last {settings['val_size']} lines are validation",
           "random": f"{settings['val_size']} lines chosen with seed {settings['seed']}",
           "fraction": f"{settings['val_fraction']:g} of the lines chosen with seed "
                       f"{settings['seed']}"}[mode]
    built = ("PaddleOCR's ppocr_keys_v1" if settings["dictionary"] == "ppocr_keys_v1"
             else "the training split's label characters, in order of first use")
    space = (" + the space as its own class" if settings["use_space_char"] else
             " (no separate space class)")
    lines = [
        "# Data split", "",
        f"- source: `{settings['source']}`, {train.lines + val.lines} labelled lines",
        f"- mode: `{mode}`: {how}",
        f"- train: {train.lines} lines (`train.txt`), validation: {val.lines} lines (`val.txt`)",
        f"- dictionary (`dict.txt`): {len(chars)} characters from {built}{space}; "
        f"{len(chars) + 1 + int(settings['use_space_char'])} CTC classes with the blank",
        f"- max_text_length: {settings['max_text_length']}",
        "",
        "## What PaddleOCR would silently drop or alter at training time", "",
        "CTCLabelEncode drops a line longer than max_text_length, or one left empty once the "
        "characters outside the dictionary are removed (SimpleDataSet then swaps in a random "
        "other line); it removes those characters from the other lines without a word.", "",
        "| | train | val |", "|---|---:|---:|",
    ]
    train_m, val_m = train.metrics(), val.metrics()
    lines += [f"| {title} | {train_m[key]} | {val_m[key]} |" for key, title in _ROWS]
    for part, check in (("train", train), ("val", val)):
        if check.out_of_dict_chars:
            lines += ["", f"### {part}: characters outside the dictionary, most frequent first",
                      "", "| character | code point | lines |", "|---|---|---:|"]
            ranked = sorted(check.out_of_dict_chars.items(), key=lambda kv: (-kv[1], kv[0]))
            for ch, count in ranked[:TOP_OFFENDERS]:
                lines.append(f"| {_cell(ch)} | U+{ord(ch):04X} | {count} |")
            if len(ranked) > TOP_OFFENDERS:
                lines.append(f"| ... {len(ranked) - TOP_OFFENDERS} more | | |")
        if check.too_long_examples:
            lines += ["", f"### {part}: lines longer than max_text_length (the first "
                      f"{len(check.too_long_examples)})", ""]
            lines += [f"- `{name}` ({len(label)} characters): {_cell(label)}"
                      for name, label in check.too_long_examples]
    lines += ["", "## Extract", ""]
    for name, encoding in extract_report.get("encoding", {}).items():
        lines.append(f"- `{name}`: {encoding}")
    for part in ("train", "test"):
        counts = extract_report.get(part, {})
        problems = {k: v for k, v in counts.get("problems", {}).items() if v}
        listed = ", ".join(f"{k} {v}" for k, v in problems.items()) or "none"
        if part == "train":
            what = f"{counts.get('labelled', 0)} labelled images"
        else:
            what = (f"{counts.get('images', 0)} images listed, {counts.get('decodable', 0)} "
                    "decodable")
        lines.append(f"- {part}: {what}; problems: {listed}")
    lines += [f"- every problem, by file and row: `{(EXTRACTED_DIR / PROBLEMS).as_posix()}`", ""]
    return "\n".join(lines)


def _cell(text):
    """Text for a Markdown table cell or list item: visible spaces and escaped pipes."""
    if text == " ":
        return "(space)"
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
