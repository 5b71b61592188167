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


def test_fc_decay_sets_a_parameter_regulariser():
    assert CTCHead(8, 5).fc.weight.regularizer is None
    assert CTCHead(8, 5, fc_decay=1e-5).fc.weight.regularizer is not None
