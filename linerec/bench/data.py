"""The lines every section reads: rendered by the sample's own renderer (linerec.synth), with
the ``realistic`` profile (1-25 characters over PaddleOCR's 6,623-character dictionary), each
image from its own seeded generator exactly as linerec.synth.dataset.write_sample draws them."""

from pathlib import Path

import numpy as np

from linerec.synth import dataset, fonts, render, text

DIFFICULTY = 0.3  # params.yaml's sample.difficulty


def rendered_lines(count, seed, stream=0):
    """[(text, jpeg bytes)]: image i of ``stream`` is the same whatever ``count`` is."""
    spec = dataset.SampleSpec(seed=seed, profile=text.REALISTIC, difficulty=DIFFICULTY)
    paths = fonts.find_fonts()
    lines = text.SignText(dataset.build_profile(spec, fonts.drawable_chars(paths)))
    faces = fonts.faces(paths)
    out = []
    for index in range(count):
        rng = np.random.default_rng([spec.seed, stream, index])
        line = lines.line(rng)
        face = faces[int(rng.integers(len(faces)))]
        out.append((line, render.render_jpeg(line, face, rng, spec.difficulty)))
    return out


def write_training_split(folder, num_train, num_val, seed=2024):
    """A data/split-like folder of rendered lines: train.txt and val.txt (absolute image paths)
    and dict.txt, PaddleOCR's 6,623-character dictionary (every realistic line fits it)."""
    from linerec.charset import ppocr_keys_path

    folder = Path(folder)
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, (line, jpeg) in enumerate(rendered_lines(num_train + num_val, seed)):
        path = images / f"{index}.jpg"
        path.write_bytes(jpeg)
        rows.append(f"{path.resolve()}\t{line}\n")
    files = {"train_file": folder / "train.txt", "val_file": folder / "val.txt",
             "dict_file": folder / "dict.txt"}
    files["train_file"].write_text("".join(rows[:num_train]), encoding="utf-8")
    files["val_file"].write_text("".join(rows[num_train:]), encoding="utf-8")
    files["dict_file"].write_bytes(Path(ppocr_keys_path()).read_bytes())
    return {key: str(path) for key, path in files.items()}


def rendered_crops(count, seed=7, stream=1):
    """(BGR uint8 crops, their texts), decoded as the predict stage decodes a test image."""
    from linerec.inference.preprocess import decode_image

    lines = rendered_lines(count, seed, stream)
    return [decode_image(jpeg) for _, jpeg in lines], [line for line, _ in lines]


def crop_stats(crops):
    ratios = [image.shape[1] / image.shape[0] for image in crops]
    return {"count": len(crops),
            "aspect_ratio": dict(zip(("min", "median", "max"),
                                     np.percentile(ratios, [0, 50, 100]).round(2).tolist()))}
