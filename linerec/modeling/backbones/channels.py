"""Channel counts of width-scaled backbones, rounded as PaddleOCR rounds them (so that the
published weights' shapes come out)."""


def make_divisible(value, divisor, min_value=None):
    """Rounds a channel count to a multiple of ``divisor``, never losing more than 10%."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded
