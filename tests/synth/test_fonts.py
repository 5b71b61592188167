import pytest

from linerec.errors import PipelineError
from linerec.synth import fonts


def test_finds_the_noto_fonts_of_the_font_package():
    names = [p.name for p in fonts.find_fonts()]
    assert names == ["NotoSansSC-Regular.otf", "NotoSerifSC-Regular.otf"]


def test_an_empty_font_folder_says_which_package_to_install(tmp_path):
    with pytest.raises(PipelineError) as caught:
        fonts.find_fonts(tmp_path)
    assert "pip install pylopdf-fonts-zh-cn" in caught.value.render()
    assert str(tmp_path) in caught.value.render()


def test_a_file_that_is_not_a_font_is_not_usable(tmp_path):
    (tmp_path / "broken.ttf").write_bytes(b"not a font at all")
    with pytest.raises(PipelineError, match="broken.ttf"):
        fonts.find_fonts(tmp_path)


def test_a_missing_font_package_says_which_package_to_install(monkeypatch):
    monkeypatch.setattr(fonts, "FONT_PACKAGE", "no_such_font_package_here")
    with pytest.raises(PipelineError, match="pip install pylopdf-fonts-zh-cn"):
        fonts.find_fonts()


def test_drawable_chars_are_what_every_font_has():
    paths = fonts.find_fonts()
    drawable = fonts.drawable_chars(paths)
    assert set("中国超市五金0123456789ABCxyz-:：（）６号ｉＷｏＷ　 ") <= drawable
    assert "\u2764" not in drawable  # ❤: in PaddleOCR's dictionary, not in Noto SC
    assert all(drawable <= fonts.coverage(p) for p in paths)


def test_every_font_comes_regular_and_bold():
    faces = fonts.faces(fonts.find_fonts())
    assert len(faces) == 4
    assert sorted(f.name for f in faces) == ["NotoSansSC-Regular", "NotoSansSC-Regular bold",
                                             "NotoSerifSC-Regular", "NotoSerifSC-Regular bold"]
