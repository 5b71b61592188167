import numpy as np
import paddle
import pytest

from linerec.errors import PipelineError
from linerec.modeling.necks.rnn import Im2Seq, SequenceEncoder


def test_im2seq_turns_columns_into_time_steps():
    x = paddle.arange(2 * 3 * 5, dtype="float32").reshape([2, 3, 1, 5])
    seq = Im2Seq(3)(x)
    assert seq.shape == [2, 5, 3]
    np.testing.assert_array_equal(seq.numpy()[1, 4], x.numpy()[1, :, 0, 4])


def test_im2seq_refuses_a_taller_map():
    with pytest.raises(ValueError, match="height 1"):
        Im2Seq(3)(paddle.zeros([1, 3, 2, 5]))


def test_bilstm_encoder_shape_and_names():
    neck = SequenceEncoder(288, hidden_size=48)
    assert neck.out_channels == 96
    assert neck(paddle.randn([2, 288, 1, 80])).shape == [2, 80, 96]
    keys = set(neck.state_dict())
    # PaddleOCR's neck.encoder.lstm.* for a 2-layer bidirectional LSTM.
    for layer in ("l0", "l1", "l0_reverse", "l1_reverse"):
        assert f"encoder.lstm.weight_ih_{layer}" in keys
        assert f"encoder.lstm.bias_hh_{layer}" in keys
    assert neck.state_dict()["encoder.lstm.weight_ih_l0"].shape == [4 * 48, 288]
    assert neck.state_dict()["encoder.lstm.weight_ih_l1"].shape == [4 * 48, 96]
    assert not any(k.startswith("encoder.lstm.weight_ih_l2") for k in keys)


def test_each_direction_sees_the_whole_line():
    neck = SequenceEncoder(4, hidden_size=3)
    neck.eval()
    x = paddle.randn([1, 4, 1, 6])
    changed = x.numpy().copy()
    changed[..., -1] += 5.0  # perturb only the last column
    y0, y1 = neck(x).numpy(), neck(paddle.to_tensor(changed)).numpy()
    assert not np.allclose(y0[0, 0], y1[0, 0])  # the first time step feels it (backward direction)


def test_bad_options_are_pipeline_errors():
    with pytest.raises(PipelineError):
        SequenceEncoder(8, hidden_size=0)
    with pytest.raises(PipelineError):
        SequenceEncoder(8, encoder_type="svtr")
    with pytest.raises(PipelineError):
        SequenceEncoder(8, init_scale=0)


def test_init_scale_widens_the_lstm_weights_only():
    paddle.seed(0)
    plain = SequenceEncoder(288, hidden_size=48).state_dict()
    paddle.seed(0)
    wide = SequenceEncoder(288, hidden_size=48, init_scale=2.0).state_dict()
    assert list(wide) == list(plain)  # PaddleOCR's names: its weights still load
    bound = 1 / np.sqrt(48)
    for name, value in wide.items():
        largest = np.abs(value.numpy()).max()
        if ".weight_" in name:
            assert 1.9 * bound < largest <= 2 * bound, name
        else:
            assert largest <= bound, name
