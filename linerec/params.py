"""Reads params.yaml and checks each value's type, so a typo fails with the key and the fix."""

from pathlib import Path

import yaml

from linerec.errors import PipelineError

PARAMS_FILE = "params.yaml"
_REQUIRED = object()
_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
               list: "a list", dict: "a mapping"}


def load(path=PARAMS_FILE):
    path = Path(path)
    if not path.exists():
        raise PipelineError("file not found", where=str(path),
                            fix="run the stages from the project root, where params.yaml lives")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise PipelineError(f"not UTF-8: byte 0x{data[error.start]:02x} at byte offset "
                            f"{error.start}", where=f"{path}: line {line}",
                            fix="save params.yaml as UTF-8 in your editor") from error
    try:
        params = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise _yaml_error(error, path) from error
    if not isinstance(params, dict):
        raise PipelineError("expected a mapping of sections at the top level", where=str(path),
                            fix="start each section at the left margin, as 'data:', 'split:'...")
    return Params(params, str(path))


def _yaml_error(error, path):
    # str(YAMLError) spans several lines with a caret drawing; the error must stay one line.
    mark = getattr(error, "problem_mark", None)
    what = getattr(error, "problem", None) or str(error)
    context, context_mark = getattr(error, "context", None), getattr(error, "context_mark", None)
    if context:
        what += f" ({context}" + (f" at line {context_mark.line + 1})" if context_mark else ")")
    what = " ".join(what.split())
    where = f"{path}: line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
    return PipelineError(f"not valid YAML: {what}", where=where,
                         fix="correct the YAML syntax at that line (or the one before it)")


class Params:
    """One params file; ``section(name)`` gives a typed view of one top-level section."""

    def __init__(self, tree, path=PARAMS_FILE):
        self.tree = tree
        self.path = path

    def section(self, name, optional=False):
        """A typed view of a top-level section; ``optional``: an empty one when it is absent."""
        if optional and name not in self.tree:
            return Section({}, name, self.path)
        if name not in self.tree:
            raise PipelineError(f"section '{name}' is missing", where=self.path,
                                fix=f"add a '{name}:' section (see the project's params.yaml)")
        value = self.tree[name]
        if not isinstance(value, dict):
            raise PipelineError(f"section '{name}' must be a mapping", where=self.path,
                                fix=f"indent the keys of '{name}:' below it, one per line")
        return Section(value, name, self.path)


class Section:
    def __init__(self, values, name, path=PARAMS_FILE):
        self.values = values
        self.name = name
        self.path = path

    def __contains__(self, key):
        return key in self.values

    def get(self, key, kind, default=_REQUIRED, choices=None, minimum=None):
        where = f"{self.path}: {self.name}.{key}"
        if key not in self.values or self.values[key] is None:
            if default is _REQUIRED:
                raise PipelineError("missing", where=where,
                                    fix=f"set {self.name}.{key} to {_TYPE_NAMES.get(kind, kind)}")
            return default
        value = self.values[key]
        value = _coerce(value, kind, where)
        if choices is not None and value not in choices:
            raise PipelineError(f"{value!r} is not one of {', '.join(map(repr, choices))}",
                                where=where, fix=f"use one of {', '.join(map(str, choices))}")
        if minimum is not None and value < minimum:
            raise PipelineError(f"{value!r} is below the minimum {minimum}", where=where,
                                fix=f"set {self.name}.{key} to {minimum} or more")
        return value

    def sub(self, key, optional=False):
        value = self.get(key, dict, default={} if optional else _REQUIRED)
        return Section(value, f"{self.name}.{key}", self.path)


def _coerce(value, kind, where):
    # YAML reads 1e-5 as a string and 1 as an int; accept what a person would mean.
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise PipelineError(f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {value!r}",
                        where=where, fix="correct the value's type in params.yaml")
