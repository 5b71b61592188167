"""Outputs that are either complete or absent: write beside the target, then rename over it."""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path


def _make_public(path, mode):
    """mkstemp/mkdtemp create private (0600/0700) entries; give them the usual umask mode."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path in the target's folder; renames it to ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    _make_public(tmp, 0o666)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path, text, encoding="utf-8"):
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)


def write_bytes(path, data):
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path, obj):
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


def _aside(path):
    return path.with_name(f".{path.name}.old")


def recover_dir(path):
    """Puts back the previous version of a folder that atomic_dir was replacing when the process
    died: between its two renames only ``.<name>.old`` exists. Returns ``path``."""
    path = Path(path)
    old = _aside(path)
    if not path.exists() and old.is_dir():
        os.replace(old, path)
    return path


@contextlib.contextmanager
def atomic_dir(path):
    """Yields an empty temporary folder beside ``path``; on success it replaces ``path`` whole.

    A folder cannot be renamed over a non-empty one, so the old version is first moved aside;
    a kill in between leaves it there, and recover_dir (called here and by readers) restores it.
    """
    path = recover_dir(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    _make_public(tmp, 0o777)
    try:
        yield tmp
        if path.exists():
            old = _aside(path)
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
