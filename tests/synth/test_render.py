import io

import numpy as np
import pytest
from PIL import Image

from linerec.synth import fonts, render


@pytest.fixture(scope="module")
def faces():
    return fonts.faces(fonts.find_fonts())


def _jpeg(text, face, seed=0, difficulty=0.3):
    return render.render_jpeg(text, face, np.random.default_rng(seed), difficulty)


def _decoded(data):
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image.convert("RGB")


@pytest.mark.parametrize("text", ["超市", "鑫源五金建材", "0755-88562231", "ｉＷｏＷ", "E区25-26号",
                                  "营业时间：8:00-22:00", "店", "大中华 烟酒　副食"])
def test_crops_are_sign_sized_jpegs(faces, text):
    for seed, face in enumerate(faces):
        image = _decoded(_jpeg(text, face, seed))
        assert render.HEIGHTS[0] <= image.height <= render.HEIGHTS[1]
        assert 0.7 <= image.width / image.height <= render.MAX_ASPECT + 0.5


def test_long_lines_are_squeezed_to_the_largest_aspect(faces):
    image = _decoded(_jpeg("地址：广东省深圳市南山区科技园路88号A座1201室", faces[0]))
    assert image.width / image.height <= render.MAX_ASPECT + 0.5


def test_the_text_fills_most_of_the_height(faces):
    # On a clean render the rows that differ clearly from the board span most of the crop.
    for seed in range(8):
        image = render.render("国国国", faces[0], np.random.default_rng(seed), 0.0)
        grey = np.asarray(image.convert("L"), dtype=np.float32)
        board = np.median(grey)
        contrast = np.abs(grey - board)
        inked = contrast > 0.5 * contrast.max()
        rows = np.flatnonzero(inked.any(axis=1))
        assert (rows[-1] - rows[0] + 1) / image.height > 0.65


def test_the_text_contrasts_with_the_board(faces):
    for seed in range(10):
        grey = np.asarray(render.render("品质保证", faces[1], np.random.default_rng(seed), 0.3)
                          .convert("L"), dtype=np.float32)
        assert grey.std() > 12


def test_the_same_generator_state_gives_the_same_bytes(faces):
    assert _jpeg("恒通超市", faces[2], seed=5) == _jpeg("恒通超市", faces[2], seed=5)
    assert _jpeg("恒通超市", faces[2], seed=5) != _jpeg("恒通超市", faces[2], seed=6)


def test_difficulty_degrades_the_crop(faces):
    def roughness(difficulty):
        total = 0.0
        for seed in range(12):
            image = render.render("鑫源五金", faces[0], np.random.default_rng(seed), difficulty)
            grey = np.asarray(image.convert("L"), dtype=np.float32)
            # Noise shows as pixel-to-pixel jumps along the flat board.
            total += np.median(np.abs(np.diff(grey, axis=1)))
        return total

    assert roughness(1.0) > roughness(0.0) + 2
