import numpy as np
import paddle

from linerec.modeling.losses.rec_ctc_loss import CTCLoss
from linerec.modeling.recognizer import build_recognizer

from .conftest import MOBILE, images

# Four short lines over classes 1..9 (0 is the CTC blank), padded with 0.
LABELS = [[1, 2, 3], [4, 5, 0], [6, 7, 8], [9, 3, 0]]
LENGTHS = [3, 2, 3, 2]


def glyph_lines(width=100):
    """Lines of 'glyphs': each class is a fixed random 24-pixel-wide pattern, one every 32 px."""
    glyphs = np.random.default_rng(0).standard_normal((10, 3, 32, 24)).astype("float32")
    x = np.zeros((len(LABELS), 3, 32, width), "float32")
    for line, (row, n) in enumerate(zip(LABELS, LENGTHS)):
        for position, cls in enumerate(row[:n]):
            left = 4 + 32 * position
            x[line, :, :, left:left + 24] = glyphs[cls]
    return paddle.to_tensor(x)


def greedy_decode(scores):
    lines = []
    for row in scores.argmax(-1):
        kept = [int(c) for i, c in enumerate(row) if c != 0 and (i == 0 or c != row[i - 1])]
        lines.append(kept)
    return lines


def test_loss_is_a_finite_positive_scalar_with_gradients():
    model = build_recognizer(MOBILE, num_classes=10)
    model.train()
    loss = CTCLoss()(model(images(4, width=160)), paddle.to_tensor(LABELS), paddle.to_tensor(LENGTHS))
    assert loss.shape == []
    assert np.isfinite(float(loss)) and float(loss) > 0
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if not p.stop_gradient)
    assert float(paddle.abs(model.backbone.conv1.conv.weight.grad).sum()) > 0
    assert float(paddle.abs(model.neck.encoder.lstm.weight_ih_l0.grad).sum()) > 0
    assert float(paddle.abs(model.head.fc.weight.grad).sum()) > 0


def test_loss_is_the_mean_per_line_negative_log_likelihood():
    # One time step and a one-class label: the CTC loss of a line is -log p(label) at that step.
    logits = paddle.to_tensor([[[0.0, 1.0, 2.0]], [[1.0, 0.5, -1.0]]])
    loss = CTCLoss()(logits, paddle.to_tensor([[2], [1]]), paddle.to_tensor([1, 1]))
    log_p = paddle.nn.functional.log_softmax(logits, axis=-1).numpy()
    np.testing.assert_allclose(float(loss), -(log_p[0, 0, 2] + log_p[1, 0, 1]) / 2, rtol=1e-5)


def test_padding_beyond_the_label_length_is_ignored():
    logits = paddle.randn([2, 12, 6])
    short = CTCLoss()(logits, paddle.to_tensor([[1, 2], [3, 3]]), paddle.to_tensor([2, 1]))
    padded = CTCLoss()(logits, paddle.to_tensor([[1, 2, 5, 5], [3, 4, 4, 4]]), paddle.to_tensor([2, 1]))
    np.testing.assert_allclose(float(short), float(padded), rtol=1e-6)


def test_adam_fits_a_fixed_tiny_batch():
    """A few Adam steps cut the loss; three hundred read the four lines back (about 15 s)."""
    paddle.seed(0)  # whatever ran before in this process must not pick the initial weights
    model = build_recognizer(MOBILE, num_classes=10)
    model.train()
    loss_fn = CTCLoss()
    optimizer = paddle.optimizer.Adam(learning_rate=5e-3, parameters=model.parameters())
    x, labels, lengths = glyph_lines(), paddle.to_tensor(LABELS), paddle.to_tensor(LENGTHS)
    losses = []
    for _ in range(300):
        scores = model(x)
        loss = loss_fn(scores, labels, lengths)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        losses.append(float(loss))
    print("CTC loss every 10 steps:", [round(v, 2) for v in losses[::10]], round(losses[-1], 3))
    assert all(np.isfinite(losses))
    assert max(losses[10:20]) < 0.3 * losses[0]  # the first steps learn the blank
    # ...and the end is far below the all-blank plateau (~7 here): the labels were learned.
    assert losses[-1] < 1.0
    decoded = greedy_decode(model(x).numpy())  # after the last step, not before it
    expected = [row[:n] for row, n in zip(LABELS, LENGTHS)]
    assert sum(d == e for d, e in zip(decoded, expected)) >= 3, decoded
