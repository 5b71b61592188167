import pytest

from linerec import submission
from linerec.errors import PipelineError


def test_render_then_parse_round_trips_with_header():
    names = ["0.jpg", "1.jpg", "2.jpg"]
    text = submission.render(names, {"0.jpg": "电话：15952301928", "1.jpg": "", "2.jpg": "a\tb\nc"})
    assert text.splitlines()[0] == "new_name\tvalue"
    parsed = submission.parse(text)
    assert parsed == {"0.jpg": "电话：15952301928", "1.jpg": "", "2.jpg": "a b c"}
    submission.validate(parsed, names)


def test_validate_names_missing_and_unknown_images():
    parsed = submission.parse(submission.render(["0.jpg"], {"0.jpg": "x"}))
    with pytest.raises(PipelineError, match="1 test image\\(s\\) missing"):
        submission.validate(parsed, ["0.jpg", "1.jpg"])


def test_parse_rejects_a_missing_header_and_duplicates():
    with pytest.raises(PipelineError, match="first line"):
        submission.parse("0.jpg\tx\n")
    with pytest.raises(PipelineError, match="twice"):
        submission.parse("new_name\tvalue\n0.jpg\tx\n0.jpg\ty\n")
