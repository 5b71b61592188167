"""The competition's submission file: UTF-8, header `new_name<TAB>value`, one line per test image."""

from linerec.errors import PipelineError

HEADER = "new_name\tvalue"


def clean_text(text):
    """A value may hold no tab or line break: they would split the line."""
    return " ".join(text.replace("\t", " ").replace("\r", " ").replace("\n", " ").split(" ")) \
        .replace("\x00", "")


def render(names, texts):
    lines = [HEADER] + [f"{name}\t{clean_text(texts[name])}" for name in names]
    return "\n".join(lines) + "\n"


def parse(text, where="submission"):
    """Reads a submission back into {image name: text}, enforcing the format."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] != HEADER:
        raise PipelineError(f"the first line must be {HEADER!r}", where=f"{where}:1")
    result = {}
    for row, line in enumerate(lines[1:], start=2):
        name, sep, value = line.partition("\t")
        if not sep or "\t" in value:
            raise PipelineError("expected exactly one tab", where=f"{where}:{row}")
        if name in result:
            raise PipelineError(f"image {name!r} appears twice", where=f"{where}:{row}")
        result[name] = value
    return result


def validate(parsed, expected_names, where="submission"):
    expected = set(expected_names)
    missing = sorted(expected - parsed.keys())
    extra = sorted(parsed.keys() - expected)
    if missing or extra:
        raise PipelineError(
            f"{len(missing)} test image(s) missing (e.g. {missing[:3]}), "
            f"{len(extra)} unknown (e.g. {extra[:3]})", where=where,
            fix="re-run predict so that every test image gets exactly one line")
