"""python -m linerec.bench at tiny sizes: real child processes, real Trainer, exporter and stage
scripts; only the sizes are small. Speed is never asserted, only that figures exist."""

import json

from linerec import submission
from linerec.bench.__main__ import main
from linerec.bench.rehearsal import stage_commands
from linerec.bench.training import project_params


def assert_figure(stats):
    assert set(stats) == {"median", "min", "max"}
    assert 0 < stats["min"] <= stats["median"] <= stats["max"]


def test_the_quick_sections_measure_training_and_inference(tmp_path):
    out = tmp_path / "bench.json"
    main(["--training", "--inference", "--models", "mobile", "--storages", "float32",
          "--steps", "1", "--repeats", "2", "--batch", "2", "--num-images", "3",
          "--predict-batch", "2", "--out", str(out)])
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"machine", "training", "inference"} <= set(report)

    (row,) = report["training"]["rows"]
    assert "error" not in row, row
    shape = project_params()["train_mobile"]["image_shape"]  # the sample's training input
    assert row["model"] == "mobile" and row["batch_size"] == 2
    assert row["input"] == "x".join(map(str, shape))
    assert_figure(row["images_per_s"])
    assert_figure(row["step_ms"])
    assert row["peak_rss_mb"] > 100  # Paddle alone is more than that
    assert report["training"]["repeats"] == 2

    (row,) = report["inference"]["rows"]
    assert "error" not in row, row
    assert row["model"] == "mobile" and row["weights"] == "float32"
    assert_figure(row["paddleocr"])
    assert_figure(row["linerec"])
    assert row["differing_lines"] == 0  # the same batches, the same text
    assert min(row["peak_rss_mb"].values()) > 100
    assert 0 < row["size_mb"] < 10
    assert report["inference"]["crops"]["count"] == 6  # 3 a pass x 2 passes
    for section in ("training", "inference"):
        assert "other_processes_cpu_cores" in report[section]


def test_a_tiny_rehearsal_runs_every_stage_and_writes_a_submission_that_parses(tmp_path):
    out, folder = tmp_path / "bench.json", tmp_path / "rehearsal"
    main(["--rehearsal", "--lines", "60", "--train-steps", "2", "--variant", "tiny",
          "--keep", str(folder), "--out", str(out)])
    result = json.loads(out.read_text(encoding="utf-8"))["rehearsal"]
    assert result["sizes"] == {"lines": 60, "train": 50, "test": 10, "val": 5}
    assert result["failed_stage"] is None
    assert list(result["stages"]) == [name for name, _ in stage_commands()]
    for name, stage in result["stages"].items():
        assert stage["returncode"] == 0, name
        assert stage["wall_s"] > 0 and stage["peak_rss_mb"] > 0, name
        assert stage["tree_peak_rss_mb"] >= stage["peak_rss_mb"], name
    parsed = submission.parse((folder / "data/submission.txt").read_text(encoding="utf-8"))
    assert len(parsed) == result["submission_lines"] == 10
    assert [t["target"] for t in result["targets"]] == [
        "sample", "extract + split", "predict", "every stage <= 4096 MiB"]
    assert all(isinstance(t["pass"], bool) for t in result["targets"])
    assert result["epoch_estimate"]["images_per_s"] > 0
    # The project's params.yaml is never rewritten: the derived one lives in the folder.
    params = (folder / "params.yaml").read_text(encoding="utf-8")
    assert "profile: realistic" in params and "val_size: 5" in params


def test_crnn_seeds_trains_the_stage_recipe_once_per_seed(tmp_path):
    from linerec.bench.data import write_training_split

    write_training_split(tmp_path / "split", 8, 4)
    out = tmp_path / "bench.json"
    main(["--crnn-seeds", "--seeds", "0,1", "--split", str(tmp_path / "split"),
          "--set", "max_steps=2", "--set", "batch_size=4", "--set", "eval_every_steps=2",
          "--set", "image_shape=[3,32,64]", "--out", str(out)])
    section = json.loads(out.read_text(encoding="utf-8"))["crnn_seeds"]
    assert section["overrides"] == ["max_steps=2", "batch_size=4", "eval_every_steps=2",
                                    "image_shape=[3,32,64]"]
    assert [row["seed"] for row in section["rows"]] == [0, 1]
    for row in section["rows"]:
        assert "error" not in row, row
        assert row["steps"] == 2 and row["batch_size"] == 4
        assert 0.0 <= row["acc"] <= 1.0 and 0.0 <= row["norm_edit_dis"] <= 1.0
        assert row["curve"][-1]["step"] == 2 and row["stage_s"] > 0
    assert_figure(section["stage_s"])
    assert set(section["acc"]) == {"median", "min", "max"}
