import re

import numpy as np
import pytest

from linerec.charset import ppocr_keys_path, read_dictionary
from linerec.synth import fonts, text


@pytest.fixture(scope="module")
def drawable():
    return fonts.drawable_chars(fonts.find_fonts())


@pytest.fixture(scope="module")
def street(drawable):
    return text.street_profile(100, 2, 8, drawable)


@pytest.fixture(scope="module")
def realistic(drawable):
    return text.realistic_profile(read_dictionary(ppocr_keys_path()), drawable)


def _lines(profile, count, seed=0):
    source = text.SignText(profile)
    rng = np.random.default_rng(seed)
    return [source.line(rng) for _ in range(count)]


@pytest.mark.parametrize("size", [text.MIN_STREET_CHARSET, 60, 100, 120])
def test_the_street_charset_stays_within_its_size(drawable, size):
    charset = text.street_charset(size, 8, drawable)
    assert size - 3 <= len(charset) <= size
    assert set(text.STREET_CORE) <= charset


def test_the_street_charset_holds_the_signature_sign_words(street):
    for word in ("超市", "饭店", "五金", "酒店", "专业", "品质", "路", "号"):
        assert set(word) <= street.charset, word


def test_street_lines_keep_to_the_charset_and_the_length_bounds(street):
    lines = _lines(street, 1500)
    assert all(2 <= len(line) <= 8 for line in lines)
    assert set("".join(lines)) <= street.charset
    assert {len(line) for line in lines} == set(range(2, 9))
    # Enough variety for a recogniser to learn characters rather than memorise lines.
    assert len(set(lines)) > 600
    assert len(set("".join(lines))) >= 0.9 * len(street.charset)


def test_street_lines_mix_words_numbers_and_latin(street):
    lines = _lines(street, 1500)
    assert any(re.fullmatch(r"[0-9-]{7,9}", line) for line in lines)  # phone numbers
    assert any(re.search(r"\d+号", line) for line in lines)            # addresses
    assert any(re.search(r"[A-Z]{3}", line) for line in lines)         # KTV, LED
    assert any(not re.search(r"[0-9A-Za-z]", line) for line in lines)  # shop names, slogans


def test_realistic_lines_cover_the_dictionary_in_one_to_25_characters(realistic):
    dictionary = set(read_dictionary(ppocr_keys_path()))
    assert realistic.charset <= dictionary | {" "}
    assert len(realistic.charset) > 6500
    lines = _lines(realistic, 2000)
    assert all(1 <= len(line) <= 25 for line in lines)
    assert set("".join(lines)) <= realistic.charset
    lengths = [len(line) for line in lines]
    assert min(lengths) == 1 and max(lengths) >= 20
    used = set("".join(lines))
    assert len(used) > 800
    assert any(0xFF01 <= ord(c) <= 0xFF5E for c in used)  # full-width forms
    assert "\u3000" in used or " " in used
    "".join(lines).encode("gbk")


def test_no_line_has_edge_or_double_spaces(realistic):
    for line in _lines(realistic, 2000):
        assert line == line.strip() and "  " not in line


def test_the_same_seed_gives_the_same_lines_and_another_seed_others(street):
    assert _lines(street, 50, seed=3) == _lines(street, 50, seed=3)
    assert _lines(street, 50, seed=3) != _lines(street, 50, seed=4)


def test_bounds_no_template_meets_still_give_fitting_lines(drawable):
    profile = text.street_profile(text.MIN_STREET_CHARSET, 11, 11, drawable)
    lines = _lines(profile, 200)
    assert all(len(line) == 11 and set(line) <= profile.charset for line in lines)
