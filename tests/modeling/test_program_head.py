"""Rewriting a CTC program's head: kept classes keep their predictions, new ones start unlikely."""

import numpy as np
import pytest

from linerec.charset import ctc_classes, read_dictionary
from linerec.modeling import ppocrv4
from linerec.modeling.program_head import rewrite_ctc_head
from linerec.modeling.program_recognizer import ProgramRecognizer
from tests.modeling.test_ppocrv4 import greedy, to_batch

KEPT = list("0123456789TELABC号楼店")
# Lines inside KEPT, and lines the cut head cannot spell.
INSIDE = ["20240315", "TEL12345", "3号楼", "ABC店"]
OUTSIDE = ["五金店", "办公楼"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    shipped = read_dictionary(ppocrv4.shipped_dict_path())
    folder = tmp_path_factory.mktemp("cut")
    report = rewrite_ctc_head(ppocrv4.shipped_model_dir(), folder,
                              ctc_classes(shipped, True), ctc_classes(KEPT + ["☃"], True))
    full, cut = ProgramRecognizer(ppocrv4.shipped_model_dir()), ProgramRecognizer(folder)
    full.eval()
    cut.eval()
    return shipped, full, cut, report


def test_lines_read_with_kept_characters_read_the_same(models):
    shipped, full, cut, _ = models
    images = to_batch(INSIDE + OUTSIDE)
    full_texts = greedy(full(images).numpy(), shipped)
    cut_texts = greedy(cut(images).numpy(), KEPT + ["☃"])
    for full_text, cut_text in zip(full_texts, cut_texts):
        if set(full_text) <= set(KEPT):
            assert cut_text == full_text
    assert full_texts[:len(INSIDE)] == INSIDE
    assert cut_texts[:len(INSIDE)] == INSIDE


def test_probabilities_are_the_originals_renormalised(models):
    shipped, full, cut, _ = models
    images = to_batch(INSIDE)
    columns = [0] + [shipped.index(c) + 1 for c in KEPT] + [len(shipped) + 1]
    original = full(images).numpy()[:, :, columns]
    # The cut head's classes: blank, KEPT, the new ☃, space; leave ☃ out and renormalise.
    got = cut(images).numpy()[:, :, list(range(len(KEPT) + 1)) + [len(KEPT) + 2]]
    assert np.allclose(got / got.sum(-1, keepdims=True),
                       original / original.sum(-1, keepdims=True), atol=1e-4)


def test_a_new_class_starts_unlikely_and_the_report_counts_it(models):
    _, _, cut, report = models
    assert (report.kept, report.added, report.classes) == (len(KEPT) + 2, 1, len(KEPT) + 3)
    probabilities = cut(to_batch(INSIDE)).numpy()
    assert not (probabilities.argmax(-1) == len(KEPT) + 1).any()
    assert probabilities[:, :, len(KEPT) + 1].mean() < 0.01


@pytest.mark.parametrize("freeze", [True, False])
def test_batch_norm_statistics_move_only_when_unfrozen(freeze, tmp_path):
    shipped = read_dictionary(ppocrv4.shipped_dict_path())
    rewrite_ctc_head(ppocrv4.shipped_model_dir(), tmp_path, ctc_classes(shipped, True),
                     ctc_classes(KEPT, True), freeze_bn_stats=freeze)
    model = ProgramRecognizer(tmp_path)
    statistics = [p for p in model.parameters() if p.stop_gradient]
    before = [s.numpy().copy() for s in statistics]
    model.train()
    model(to_batch(INSIDE))
    moved = any(not np.array_equal(s.numpy(), b) for s, b in zip(statistics, before))
    assert moved is not freeze
