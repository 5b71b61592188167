"""What the pretrained families share: checking a model section's options, and the rule that
picks the characters a fitted head keeps."""

from linerec.errors import PipelineError


def check_options(family, options, allowed, where, choices=None):
    """``allowed``: option -> type; ``choices``: option -> (default, accepted values)."""
    for key, value in options.items():
        if key not in allowed:
            raise PipelineError(f"{family} has no option {key!r}", where=f"{where}.{key}",
                                fix=f"its options are: {', '.join(allowed)}")
        if not isinstance(value, allowed[key]):
            raise PipelineError(f"{key} must be a {allowed[key].__name__}, got {value!r}",
                                where=f"{where}.{key}")
    for key, (default, accepted) in (choices or {}).items():
        if options.get(key, default) not in accepted:
            raise PipelineError(f"{options[key]!r} is not a {family} {key}", where=f"{where}.{key}",
                                fix=f"use one of {', '.join(accepted)}")


def head_characters(pretrained_chars, label_chars, head, always_keep, common_chars=()):
    """Kept pretrained characters in their order (``all`` of them; or those the labels,
    ``always_keep`` and, for ``common``, ``common_chars`` use), then the label characters the
    pretrained head lacks, in order of first use. The labels' characters are always there."""
    wanted = set(label_chars) | set(always_keep)
    if head == "common":
        wanted |= set(common_chars)
    kept = [c for c in pretrained_chars if head == "all" or c in wanted]
    known = set(pretrained_chars)
    return kept + list(dict.fromkeys(c for c in label_chars if c not in known and c != " "))
