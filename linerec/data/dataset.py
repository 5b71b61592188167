"""Training lines over PaddleOCR's own data operators (from the paddleocr package).

Lines that PaddleOCR's CTCLabelEncode would reject (empty after removing characters outside the
dictionary, or longer than max_text_length) cannot be trained on: they are dropped when the
dataset is built and counted, rather than silently swapped for a random other line at read time
as PaddleOCR's SimpleDataSet does. Validation never goes through this encoding: models are scored
against the raw labels (see linerec/training/evaluation.py).

Augmentation draws from Python's and NumPy's global generators (PaddleOCR's RecAug does). Each
line seeds them from (seed, epoch, index), so a line looks the same whatever the number of
loader workers and whether the run was interrupted and resumed.
"""

import random

import numpy as np
import paddle

from linerec.data.label_lines import read_label_lines
from linerec.errors import PipelineError


def read_label_file(path):
    """SimpleDataSet lines: ``image_path<TAB>label``."""
    return read_label_lines(path, "split")


def build_operators(dict_path, image_shape, max_text_length, use_space_char, augment):
    from paddleocr.ppocr.data.imaug import create_operators

    ops = [{"DecodeImage": {"img_mode": "BGR", "channel_first": False}}]
    if augment:
        ops.append({"RecAug": {}})
    ops += [
        {"CTCLabelEncode": {"max_text_length": max_text_length,
                            "character_dict_path": str(dict_path),
                            "use_space_char": use_space_char}},
        {"RecResizeImg": {"image_shape": list(image_shape)}},
        {"KeepKeys": {"keep_keys": ["image", "label", "length"]}},
    ]
    return create_operators(ops)


class LineDataset(paddle.io.Dataset):
    """Yields (image CHW float32, label indices padded to max_text_length, label length)."""

    def __init__(self, label_file, dict_path, image_shape, max_text_length, use_space_char,
                 augment=False, seed=0, samples=None):
        """``samples``: [(image path, label)] instead of reading ``label_file`` (then only named
        in messages), e.g. a replay folder's lines."""
        super().__init__()
        self.ops = build_operators(dict_path, image_shape, max_text_length, use_space_char, augment)
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        encoder = next(op for op in self.ops if type(op).__name__ == "CTCLabelEncode")
        samples = read_label_file(label_file) if samples is None else samples
        self.samples = [s for s in samples if encoder.encode(s[1]) is not None]
        self.dropped = len(samples) - len(self.samples)
        self.label_file = str(label_file)
        if not self.samples:
            raise PipelineError(
                "no line can be encoded with the dictionary and max_text_length",
                where=self.label_file,
                fix="check data.dictionary and data.max_text_length against the labels")

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        from paddleocr.ppocr.data.imaug import transform

        if self.augment:
            line_seed = np.random.SeedSequence([self.seed, self.epoch, int(index)])
            seed = int(line_seed.generate_state(1)[0])
            random.seed(seed)
            np.random.seed(seed)
        image_path, label = self.samples[index]
        with open(image_path, "rb") as handle:
            data = {"img_path": image_path, "image": handle.read(), "label": label}
        out = transform(data, self.ops)
        if out is None:
            raise PipelineError("image could not be decoded or transformed", where=image_path,
                                fix="re-run extract, which drops undecodable images")
        image, label_ids, length = out
        return image.astype(np.float32), label_ids.astype(np.int32), np.int64(length)
