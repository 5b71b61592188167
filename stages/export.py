"""Stage export: the trained model named by export.model → models/export (Paddle inference model).

Fails when inference.pdmodel + inference.pdiparams exceed export.max_size_mb. Writes the size to
metrics/export.json and what was exported, and how, to models/export.json.
"""

# First, before anything imports paddle: Paddle reads its program-format switch once.
from linerec.runtime import configure_stage

configure_stage(legacy_programs=True)

from pathlib import Path

import numpy as np

from linerec import params as params_lib
from linerec.atomic import atomic_dir, write_json
from linerec.errors import PipelineError, run_main
from linerec.inference import engines, export, export_formats
from linerec.model_store import TRAINED_MODELS, load_trained

MODELS = TRAINED_MODELS
OUT_DIR = Path("models/export")
# What was exported and how (model, weights, parameters, drift, other formats' sizes); beside
# the folder, not in it, so that predict (which reads the folder) does not re-run for it.
RECORD_FILE = Path("models/export.json")
METRIC_KEYS = ("size_mb",)
# The other formats of export.formats: models/export_formats/{paddlex,onnx}/ + formats.json.
FORMATS_DIR = Path("models/export_formats")
# How far the exported probabilities may stray from the trained model's on a random probe:
# float32 only by reordered arithmetic; 16-bit weights by their rounding (measured on PP-OCRv4:
# 8.9e-4 int16, 4.3e-3 float16); int8 can flip frames, which its user must check.
MAX_DRIFT = {"float32": 1e-3, "int16": 1e-2, "float16": 2e-2, "int8": 0.25}
# inference.onnx against inference.pdmodel: the same rounded weights, so reordered float32
# arithmetic only (measured ~1e-5).
ONNX_MAX_DRIFT = 1e-3


def main(argv):
    section = params_lib.load().section("export")
    name = section.get("model", str, choices=MODELS)
    limit_mb = section.get("max_size_mb", float, minimum=0.0)
    storage = section.get("weights", str, default="float32", choices=export.STORAGES)
    formats = export_formats.check_formats(section.get("formats", list, default=["paddle"]))
    model_dir = Path("models") / name
    model, info, dict_path = load_trained(model_dir, "best")
    parameters = sum(int(np.prod(p.shape)) for p in model.parameters())

    with atomic_dir(OUT_DIR) as out:
        # With inference.onnx beside it, for predict.engine's onnxruntime and openvino; the
        # competition counts only the .pdmodel and .pdiparams.
        probe, reference = export.export_inference_model(model, info["image_shape"], out, storage,
                                                         onnx_dict=dict_path)
        export.write_export_config(out, info, dict_path)
        size = export.competition_size(out)
        export.check_size(size, limit_mb, name, MODELS)
        stored = engines.PaddleEngine(out, enable_mkldnn=False).run(probe)
        drift = float(np.abs(stored - reference).max())
        if drift > MAX_DRIFT[storage]:
            raise PipelineError(f"the exported program disagrees with the trained model "
                                f"(max difference {drift:.2e})", where=str(out),
                                fix="report this with LINEREC_DEBUG=1 output")
        # The ONNX file computes what the stored program computes: only reordered arithmetic.
        onnx_drift = float(np.abs(engines.OnnxRuntimeEngine(out).run(probe) - stored).max())
        if onnx_drift > ONNX_MAX_DRIFT:
            raise PipelineError(f"{engines.ONNX_FILE} disagrees with inference.pdmodel (max "
                                f"difference {onnx_drift:.2e})", where=str(out),
                                fix="report this with LINEREC_DEBUG=1 output")

    extra = export_formats.write_formats(formats, model_dir, FORMATS_DIR)
    record = {
        "model": name, "size_mb": round(size / export.MB, 3), "limit_mb": limit_mb,
        "weights": storage, "parameters": parameters, "max_output_drift": drift,
        "onnx_max_difference": onnx_drift,
        # Headline sizes only; each format's check is in models/export_formats/formats.json.
        "other_formats_mb": {fmt: round(made["size_bytes"] / export.MB, 3)
                             for fmt, made in extra.items()},
    }
    write_json(RECORD_FILE, record)
    # Only the size: every key of a metrics file is a column of `dvc metrics show`.
    write_json("metrics/export.json", {key: record[key] for key in METRIC_KEYS})
    print(f"export: {name} → {OUT_DIR} ({size / export.MB:.2f} MB of {limit_mb:g} MB, "
          f"{parameters:,} parameters, weights stored as {storage})")


if __name__ == "__main__":
    run_main(main)
