import numpy as np
import paddle

from linerec.modeling.heads.rec_ctc_head import CTCHead


def test_logits_in_training_and_probabilities_in_eval():
    head = CTCHead(96, 37)
    x = paddle.randn([2, 80, 96])
    head.train()
    logits = head(x)
    assert logits.shape == [2, 80, 37]
    head.eval()
    probs = head(x).numpy()
    assert probs.shape == (2, 80, 37)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, paddle.nn.functional.softmax(logits, axis=-1).numpy(), rtol=1e-5)


def test_fc_named_and_initialised_like_paddleocr():
    head = CTCHead(96, 6625)
    state = head.state_dict()
    assert state["fc.weight"].shape == [96, 6625] and state["fc.bias"].shape == [6625]
    bound = 1 / np.sqrt(96)
    assert np.abs(state["fc.weight"].numpy()).max() <= bound
    assert np.abs(state["fc.bias"].numpy()).max() > 0  # uniform, not zeros


def test_init_scale_widens_the_weights_range_only():
    paddle.seed(0)
    plain = CTCHead(96, 6625).state_dict()
    paddle.seed(0)
    wide = CTCHead(96, 6625, init_scale=3.0).state_dict()
    bound = 1 / np.sqrt(96)
    assert 2.9 * bound < np.abs(wide["fc.weight"].numpy()).max() <= 3 * bound
    assert np.abs(wide["fc.bias"].numpy()).max() <= bound
    assert list(wide) == list(plain)  # the same names: PaddleOCR's weights still load


def test_fc_decay_pulls_the_head_towards_zero_and_overrides_the_optimizer_decay():
    """With no data gradient, one SGD step of lr 1 scales each head weight by (1 - decay); the
    optimizer's own (larger) weight decay must not apply to the head on top."""
    import paddle

    for fc_decay, expected in ((0.25, 0.75), (None, 0.5)):
        paddle.seed(0)
        head = CTCHead(8, 5, fc_decay=fc_decay)
        before = head.fc.weight.numpy().copy()
        optimizer = paddle.optimizer.SGD(learning_rate=1.0, parameters=head.parameters(),
                                         weight_decay=paddle.regularizer.L2Decay(0.5))
        (head(paddle.ones([1, 2, 8])) * 0).sum().backward()
        optimizer.step()
        np.testing.assert_allclose(head.fc.weight.numpy(), before * expected, rtol=1e-6)
