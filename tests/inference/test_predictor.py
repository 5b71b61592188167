"""LinePredictor's batching: helper processes and largest-first order change speed, never results."""

import json
import shutil

import numpy as np
import pytest

from linerec.errors import PipelineError
from linerec.inference.predictor import LinePredictor
from tests.conftest import render_line, run_stage
from tests.inference.test_export import fake_trained_model, write_params

TEXTS = ["7777777", "1", "4444", "22", "55555", "12345678", "333", "666666", "901234567"]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    project = tmp_path_factory.mktemp("predictor")
    (project / "dict.txt").write_text("\n".join("0123456789") + "\n", encoding="utf-8")
    fake_trained_model(project, project / "dict.txt")
    write_params(project, model="mobile")
    run_stage("export.py", cwd=project)
    return project / "models/export"


def crops():
    """Distinct aspect ratios (ties could swap crops between batches), in no particular order,
    one taller than the model and one wider than 320 at height 32."""
    images = [np.asarray(render_line(text))[:, :, ::-1].copy() for text in TEXTS]
    images[2] = np.asarray(render_line(TEXTS[2], height=64, font_size=52))[:, :, ::-1].copy()
    images.append(np.full((30, 700, 3), 200, np.uint8))
    return images


def in_batches(predictor, images):
    """What each batch gives when run on its own, in TextRecognizer's (narrowest-first) order."""
    results = [None] * len(images)
    for chunk in predictor.batches(images):
        for index, result in zip(chunk, predictor.run_batch([images[i] for i in chunk])):
            results[index] = result
    return results


def test_helper_processes_give_the_same_results_in_input_order(export_dir):
    images = crops()
    with LinePredictor(export_dir, batch_size=3, workers=2) as predictor:
        counted = []
        results = predictor.predict(images, progress=counted.append)
        expected = in_batches(predictor, images)
        assert sum(counted) == len(images)
        assert [text for text, _ in results] == [text for text, _ in expected]
        assert [c for _, c in results] == pytest.approx([c for _, c in expected], abs=1e-5)
        # The same crops in another order are the same batches: each crop keeps its result.
        permutation = np.random.default_rng(0).permutation(len(images))
        shuffled = predictor.predict([images[i] for i in permutation])
        assert [shuffled[j][0] for j in np.argsort(permutation)] == [text for text, _ in results]


def test_one_process_and_three_agree(export_dir):
    images = crops()
    with LinePredictor(export_dir, batch_size=2, workers=1) as one, \
            LinePredictor(export_dir, batch_size=2, workers=3) as three:
        assert not one.helpers and len(three.helpers) == 2
        assert [t for t, _ in one.predict(images)] == [t for t, _ in three.predict(images)]
        assert three.predict(images[:1]) == one.predict(images[:1])  # fewer batches than workers
        assert three.predict([]) == []


def test_an_algorithm_it_cannot_run_is_a_clear_error(export_dir, tmp_path):
    copy = tmp_path / "export"
    shutil.copytree(export_dir, copy)
    config = json.loads((copy / "recognizer.json").read_text(encoding="utf-8"))
    config["algorithm"] = "SRN"
    (copy / "recognizer.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(PipelineError, match="SRN"):
        LinePredictor(copy)
