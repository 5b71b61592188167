"""Draws one sign-line crop: a painted board, the text on it, then what the camera does to it.

Geometry works in "box" coordinates, whose origin is the top-left of the text's box (ink width,
full CJK glyph height). A homography maps the box to the distorted sign; the output crop is the
distorted box's bounding rectangle plus margins, as a text detector would cut it.
"""

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from linerec.synth import fonts

HEIGHTS = (24, 64)
MAX_ASPECT = 15.0
_FONT_SIZES = (16, 20, 24, 28, 32, 36, 40, 46, 52, 60, 68, 76, 84)
_CJK_BOX_PER_EM = 0.9  # Noto's 国 spans about 0.9 of the font size
# The glyph whose box sets the line height, so a line of 一二 is cut as tall as one of 国.
_CJK_REFERENCE = "国"
_LATIN_REFERENCE = "0"

# Sign boards and the text colours painted on them, chosen to contrast.
_BOARDS = (
    ((196, 28, 36), ((255, 255, 255), (255, 222, 70))),                       # red
    ((18, 72, 160), ((255, 255, 255), (255, 222, 70))),                       # blue
    ((0, 112, 64), ((255, 255, 255), (250, 240, 200))),                       # green
    ((244, 244, 238), ((200, 20, 30), (20, 60, 150), (25, 25, 25), (0, 110, 60))),  # white
    ((250, 206, 40), ((25, 25, 25), (196, 20, 30), (20, 60, 150))),           # yellow
    ((28, 28, 32), ((255, 255, 255), (255, 208, 60), (232, 44, 44), (220, 180, 96))),  # black
    ((236, 118, 28), ((255, 255, 255), (30, 30, 30))),                        # orange
    ((112, 70, 40), ((240, 202, 112), (255, 255, 255))),                      # wood
    ((168, 174, 180), ((25, 25, 25), (180, 20, 30), (20, 50, 120))),          # brushed metal
    ((120, 36, 120), ((255, 255, 255), (255, 222, 70))),                      # purple
)


def render_jpeg(text, face, rng, difficulty):
    """The crop of ``text`` drawn with ``face``, JPEG-encoded at a difficulty-scaled quality."""
    image = render(text, face, rng, difficulty)
    quality = int(rng.integers(int(95 - 55 * difficulty), 96))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def render(text, face, rng, difficulty):
    """An RGB crop 24-64 px tall; ``rng`` decides everything, so the same state, the same crop."""
    height = int(rng.integers(HEIGHTS[0], HEIGHTS[1] + 1))
    margins = _margins(rng, difficulty)
    # Render near the output size (a little above, so the warp downsamples and stays sharp),
    # at one of a few sizes: every size is another FreeType face held in memory.
    wanted = height / (1 + margins[1] + margins[3]) / _CJK_BOX_PER_EM * rng.uniform(1.0, 1.15)
    size = min(_FONT_SIZES, key=lambda s: abs(s - wanted))
    font = fonts.load(face.path, size)
    style = _text_style(rng, face, size)
    layers, box = _draw_text(text, font, style)
    box_w, box_h = box[2] - box[0], box[3] - box[1]
    board, ink = _colours(rng, difficulty)

    warp, frame = _geometry(rng, difficulty, box_w, box_h, margins)
    scale = height / (frame[3] - frame[1])
    width = max(8, round((frame[2] - frame[0]) * scale))
    # output pixel -> distorted box coordinates -> undistorted box coordinates
    out_to_box = np.linalg.inv(warp) @ np.array(
        [[1 / scale, 0, frame[0]], [0, 1 / scale, frame[1]], [0, 0, 1]])
    canvas_origin, canvas_size = _canvas_extent(out_to_box, width, height, box_w, box_h)
    canvas = _board(rng, canvas_size, board)
    offset = (-box[0] - canvas_origin[0], -box[1] - canvas_origin[1])
    _paint_text(canvas, layers, offset, ink, style)

    to_canvas = np.array([[1, 0, -canvas_origin[0]], [0, 1, -canvas_origin[1]], [0, 0, 1]])
    matrix = to_canvas @ out_to_box
    matrix = matrix / matrix[2, 2]
    sign = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8)).transform(
        (width, height), Image.Transform.PERSPECTIVE, tuple(matrix.flatten()[:8]),
        Image.Resampling.BILINEAR, fillcolor=tuple(int(v) for v in board))
    return _camera(sign, rng, difficulty)


# -- text ---------------------------------------------------------------------------------------


def _text_style(rng, face, size):
    stroke = max(1, round(size * rng.uniform(0.025, 0.05))) if face.bold else 0
    tracking = size * rng.uniform(-0.02, 0.05)
    if rng.random() < 0.2:  # signs often space their letters out
        tracking = size * rng.uniform(0.1, 0.4)
    effect = rng.random()
    return {
        "stroke": stroke,
        "tracking": tracking + stroke,
        "outline": max(1, round(size * 0.06)) if effect < 0.12 else 0,
        "shadow": (max(1, round(size * 0.05)),) * 2 if 0.12 <= effect < 0.22 else None,
        "gradient": rng.uniform(-0.35, 0.35) if rng.random() < 0.2 else 0.0,
    }


def _draw_text(text, font, style):
    """White-on-black masks of the text (fill, and outline if any) and its box within them."""
    stroke, outline = style["stroke"], style["outline"]
    pad = stroke + outline + font.size // 2
    ascent, descent = font.getmetrics()
    advances = [font.getlength(c) for c in text]
    width = math.ceil(sum(advances) + style["tracking"] * len(text)) + 2 * pad
    size = (max(1, width), ascent + descent + 2 * pad)
    baseline = pad + ascent
    fill = Image.new("L", size, 0)
    edge = Image.new("L", size, 0) if outline else None
    pen = float(pad)
    for char, advance in zip(text, advances):
        if not char.isspace():
            ImageDraw.Draw(fill).text((pen, baseline), char, fill=255, font=font, anchor="ls",
                                      stroke_width=stroke, stroke_fill=255)
            if edge is not None:
                ImageDraw.Draw(edge).text((pen, baseline), char, fill=255, font=font, anchor="ls",
                                          stroke_width=stroke + outline, stroke_fill=255)
        pen += advance + style["tracking"]
    inked = (edge or fill).getbbox() or (pad, pad, pad + 1, pad + 1)
    has_cjk = any(ord(c) > 0x2E80 and not c.isspace() for c in text)
    reference = font.getbbox(_CJK_REFERENCE if has_cjk else _LATIN_REFERENCE, anchor="ls")
    grow = stroke + outline
    top = min(inked[1], baseline + reference[1] - grow)
    bottom = max(inked[3], baseline + reference[3] + grow)
    return (fill, edge), (inked[0], top, inked[2], bottom)


def _paint_text(canvas, layers, offset, ink, style):
    fill, edge = layers
    h, w = canvas.shape[:2]
    alpha = _placed(np.asarray(fill, dtype=np.float32) / 255, offset, (h, w))
    if style["shadow"] is not None:
        dx, dy = style["shadow"]
        shade = _placed(np.asarray(edge or fill, dtype=np.float32) / 255,
                        (offset[0] + dx, offset[1] + dy), (h, w))
        _blend(canvas, shade * 0.55, np.zeros(3, np.float32))
    if edge is not None:
        outer = _placed(np.asarray(edge, dtype=np.float32) / 255, offset, (h, w))
        outline = np.where(ink.mean() > 128, 20.0, 250.0) * np.ones(3, np.float32)
        _blend(canvas, outer, outline)
    colour = ink[None, None, :] * np.ones((h, 1, 1), np.float32)
    if style["gradient"]:
        ramp = np.linspace(1 + style["gradient"], 1 - style["gradient"], h, dtype=np.float32)
        colour = np.clip(colour * ramp[:, None, None], 0, 255)
    _blend(canvas, alpha, colour)


def _placed(mask, offset, shape):
    """``mask`` pasted at integer ``offset`` into zeros of ``shape``, clipped at the edges."""
    out = np.zeros(shape, np.float32)
    x, y = int(offset[0]), int(offset[1])
    src_y0, src_x0 = max(0, -y), max(0, -x)
    dst_y0, dst_x0 = max(0, y), max(0, x)
    rows = min(mask.shape[0] - src_y0, shape[0] - dst_y0)
    cols = min(mask.shape[1] - src_x0, shape[1] - dst_x0)
    if rows > 0 and cols > 0:
        out[dst_y0:dst_y0 + rows, dst_x0:dst_x0 + cols] = \
            mask[src_y0:src_y0 + rows, src_x0:src_x0 + cols]
    return out


def _blend(canvas, alpha, colour):
    alpha = alpha[:, :, None]
    canvas[:] = canvas * (1 - alpha) + colour * alpha


# -- colours and boards -------------------------------------------------------------------------


def _colours(rng, difficulty):
    board, inks = _BOARDS[int(rng.integers(len(_BOARDS)))]
    board = np.clip(np.array(board, np.float32) + rng.normal(0, 14, 3), 0, 255)
    ink = np.array(inks[int(rng.integers(len(inks)))], np.float32) + rng.normal(0, 10, 3)
    # Faded paint: harder signs lose some contrast.
    fade = rng.uniform(0, 0.25 * difficulty)
    ink = np.clip(ink * (1 - fade) + board * fade, 0, 255)
    return board.astype(np.float32), ink.astype(np.float32)


def _board(rng, size, colour):
    """A float32 RGB board: flat paint, a light-box gradient, brushed metal or a rough texture."""
    w, h = size
    shade = np.ones((h, w), np.float32)
    kind = rng.random()
    if kind < 0.35:  # gradient
        if rng.random() < 0.6:
            ramp = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
        else:
            ramp = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
        shade = shade + rng.uniform(0.05, 0.22) * ramp
    elif kind < 0.5:  # brushed metal: streaks along the board
        streaks = rng.normal(0, 1, (h, max(2, w // 24))).astype(np.float32)
        streaks = Image.fromarray(streaks, "F").resize((w, h), Image.Resampling.BILINEAR)
        streaks = np.asarray(streaks)
        shade = shade + 0.05 * streaks
    elif kind < 0.65:  # rough texture: stucco, weathered paint
        shade = shade + rng.normal(0, 0.05, (h, w)).astype(np.float32)
    shade = shade + 0.06 * _smooth_noise(rng, w, h)  # paint is never perfectly even
    canvas = colour[None, None, :] * shade[:, :, None]
    if rng.random() < 0.15:  # the board's border or a coloured stripe at one edge
        band = max(1, int(h * rng.uniform(0.03, 0.08)))
        stripe = np.array(_BOARDS[int(rng.integers(len(_BOARDS)))][1][0], np.float32)
        rows = slice(0, band) if rng.random() < 0.5 else slice(h - band, h)
        canvas[rows] = stripe
    return np.clip(canvas, 0, 255).astype(np.uint8).astype(np.float32)


def _smooth_noise(rng, w, h):
    grid = rng.normal(0, 1, (3, max(2, w // max(h, 1) + 2))).astype(np.float32)
    return np.asarray(Image.fromarray(grid, "F").resize((w, h), Image.Resampling.BICUBIC))


# -- geometry -----------------------------------------------------------------------------------


def _margins(rng, difficulty):
    """Left, top, right, bottom margins in units of text height: uneven, so text is off centre."""
    side = 0.08 + 0.5 * difficulty
    edge = 0.1 + 0.12 * difficulty
    return (rng.uniform(0.05, side + 0.15), rng.uniform(0.02, edge),
            rng.uniform(0.05, side + 0.15), rng.uniform(0.02, edge))


def _geometry(rng, difficulty, box_w, box_h, margins):
    """The box-to-sign homography and the crop frame around the distorted text, in sign units."""
    angle = math.radians(float(np.clip(rng.normal(0, 0.3 + 1.5 * difficulty),
                                       -(0.5 + 4 * difficulty), 0.5 + 4 * difficulty)))
    shear = rng.uniform(-1, 1) * 0.15 * difficulty
    tilt = rng.uniform(-1, 1) * 0.12 * difficulty      # one end nearer the camera
    # Looking up or down at the sign: the ends lean by up to this fraction of the text height.
    lean = rng.uniform(-1, 1) * 0.15 * difficulty
    x_scale = rng.uniform(0.85, 1.12)  # condensed and extended sign lettering
    for _ in range(4):
        corners = _distorted_corners(box_w * x_scale, box_h, angle, shear, tilt, lean)
        left, top, right, bottom = margins
        frame = (corners[:, 0].min() - left * box_h, corners[:, 1].min() - top * box_h,
                 corners[:, 0].max() + right * box_h, corners[:, 1].max() + bottom * box_h)
        aspect = (frame[2] - frame[0]) / (frame[3] - frame[1])
        if aspect <= MAX_ASPECT:
            break
        x_scale *= MAX_ASPECT / aspect * 0.98  # squeeze very long lines, as narrow signs do
    source = np.array([[0, 0], [box_w, 0], [box_w, box_h], [0, box_h]], np.float64)
    return _homography(source, corners), frame


def _distorted_corners(w, h, angle, shear, tilt, lean):
    hx, hy = w / 2, h / 2
    keystone = lean * hy / hx
    corners = np.array([
        [-hx * (1 + keystone), -hy * (1 + tilt)], [hx * (1 + keystone), -hy * (1 - tilt)],
        [hx * (1 - keystone), hy * (1 - tilt)], [-hx * (1 - keystone), hy * (1 + tilt)],
    ])
    corners[:, 0] += shear * corners[:, 1]
    cos, sin = math.cos(angle), math.sin(angle)
    return corners @ np.array([[cos, sin], [-sin, cos]])


def _homography(source, target):
    """The 3x3 matrix taking each of the four source points to its target point."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(source, target):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    solution = np.linalg.solve(np.array(rows), np.array(rhs))
    return np.append(solution, 1).reshape(3, 3)


def _canvas_extent(out_to_box, width, height, box_w, box_h):
    """The integer origin and size, in box coordinates, of a board covering the whole crop."""
    corners = np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], np.float64)
    mapped = corners @ out_to_box.T
    points = np.vstack([mapped[:, :2] / mapped[:, 2:], [[0, 0], [box_w, box_h]]])
    low = np.floor(points.min(axis=0)).astype(int) - 2
    high = np.ceil(points.max(axis=0)).astype(int) + 2
    return (int(low[0]), int(low[1])), (int(high[0] - low[0]), int(high[1] - low[1]))


# -- camera -------------------------------------------------------------------------------------


def _camera(image, rng, difficulty):
    """Uneven light, focus blur, low resolution and sensor noise, all scaled by difficulty."""
    pixels = np.asarray(image, dtype=np.float32)
    h, w = pixels.shape[:2]
    strength = rng.uniform(0, 0.08 + 0.3 * difficulty)
    direction = rng.uniform(0, 2 * math.pi)
    # Light changes over the sign's length, not per character, however long the line.
    reach = min(1.0, w / h / 4)
    xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :] * math.cos(direction) * reach
    ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None] * math.sin(direction)
    light = 1 + strength * (xs + ys) + rng.uniform(-0.12, 0.08) * difficulty
    pixels = pixels * light[:, :, None]
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))

    if rng.random() < 0.1 + 0.4 * difficulty:
        factor = rng.uniform(0.45, 0.85)
        small = (max(4, round(w * factor)), max(4, round(h * factor)))
        image = image.resize(small, Image.Resampling.BILINEAR)
        image = image.resize((w, h), Image.Resampling.BILINEAR)
    if rng.random() < 0.3 + 0.6 * difficulty:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.3 + 1.1 * difficulty)))

    sigma = rng.uniform(0, 1.5 + 10 * difficulty)
    noise = rng.normal(0, sigma, (h, w, 3)).astype(np.float32)
    pixels = np.asarray(image, dtype=np.float32) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
