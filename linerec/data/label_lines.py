"""The pipeline's own `key<TAB>label` files (extract's labels, split's SimpleDataSet lists)."""

from pathlib import Path

from linerec.errors import PipelineError


def read_label_lines(path, producer):
    """[(key, label)] from a file the ``producer`` stage wrote; errors say to re-run it."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError("file not found", where=str(path),
                            fix=f"run the {producer} stage first (dvc repro {producer})")
    samples = []
    for number, line in enumerate(path.read_bytes().decode("utf-8").split("\n"), start=1):
        if not line:
            continue
        key, tab, label = line.partition("\t")
        if not tab or not key:
            raise PipelineError("expected key<TAB>label", where=f"{path}: line {number}",
                                fix=f"re-run the {producer} stage, which writes this file")
        samples.append((key, label))
    if not samples:
        raise PipelineError("no labelled lines", where=str(path),
                            fix=f"re-run the {producer} stage and read what it reports")
    return samples


def read_names(path, producer):
    """One name per line (extract's test image list), in order."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError("file not found", where=str(path),
                            fix=f"run the {producer} stage first (dvc repro {producer})")
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]
