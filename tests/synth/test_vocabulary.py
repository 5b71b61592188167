import pytest

from linerec.synth import fonts, vocabulary

LISTS = [name for name in dir(vocabulary) if name.isupper()]


@pytest.mark.parametrize("name", LISTS)
def test_every_entry_is_gbk_and_drawable(name):
    drawable = fonts.drawable_chars(fonts.find_fonts())
    for entry in getattr(vocabulary, name):
        entry.encode("gbk")
        assert set(entry) <= drawable, entry


@pytest.mark.parametrize("name", LISTS)
def test_no_list_repeats_an_entry(name):
    entries = list(getattr(vocabulary, name))
    assert len(entries) == len(set(entries))


def test_the_vocabulary_mixes_the_kinds_of_characters_signs_use():
    everything = "".join("".join(getattr(vocabulary, name)) for name in LISTS)
    assert any("\u4e00" <= c <= "\u9fff" for c in everything)
    assert any(c.isascii() and c.isalpha() for c in everything)
    assert {"·", "、", "-", "　", " ", "：", "（"} <= set(everything)
