import pytest

from linerec.metrics import LineMetric, score


def test_exact_match_and_edit_distance_follow_paddleocr():
    result = score(["韩国小馆", "实力", "abc"], ["韩国小馆", "实力活力", "abd"])
    assert result["acc"] == pytest.approx(1 / 3)
    # normalised Levenshtein: 0, 2/4, 1/3 → 1 - mean
    assert result["norm_edit_dis"] == pytest.approx(1 - (0 + 0.5 + 1 / 3) / 3)


def test_spaces_are_ignored_as_paddleocr_does():
    assert score(["进口滤纸 专业"], ["进口滤纸专业"])["acc"] == 1.0
    assert score(["进口滤纸 专业"], ["进口滤纸专业"], ignore_space=False)["acc"] == 0.0


def test_empty_prediction_scores_zero():
    result = score([""], ["电话"])
    assert result["acc"] == 0.0 and result["norm_edit_dis"] == 0.0


def test_accuracy_by_length_buckets():
    metric = LineMetric()
    metric.update(["ab", "abcdef", "x"], ["ab", "abcdeg", "y"])
    by_length = metric.accuracy_by_length()
    assert by_length["1-2"] == {"count": 2, "acc": 0.5}
    assert by_length["6-10"] == {"count": 1, "acc": 0.0}
    assert list(by_length) == ["1-2", "6-10"]
