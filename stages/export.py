"""Stage export: the trained model named by export.model → models/export (Paddle inference model).

Fails when inference.pdmodel + inference.pdiparams exceed export.max_size_mb.
"""

from pathlib import Path

import numpy as np

# linerec first: it sets FLAGS_enable_pir_api=0 before paddle loads, without which Paddle 3
# writes inference.json, which the competition does not count and TextRecognizer cannot load.
from linerec import params as params_lib
from linerec.atomic import atomic_dir, write_json
from linerec.errors import PipelineError, run_main
from linerec.inference import export
from linerec.inference.predictor import LinePredictor
from linerec.model_store import DICT_FILE, TRAINED_MODELS, load_trained

MODELS = TRAINED_MODELS
OUT_DIR = Path("models/export")


def main(argv):
    section = params_lib.load().section("export")
    name = section.get("model", str, choices=MODELS)
    limit_mb = section.get("max_size_mb", float, minimum=0.0)
    model_dir = Path("models") / name
    model, info = load_trained(model_dir, "best")
    parameters = sum(int(np.prod(p.shape)) for p in model.parameters())

    with atomic_dir(OUT_DIR) as out:
        probe, reference = export.export_inference_model(model, info["image_shape"], out)
        export.write_export_config(out, info, model_dir / DICT_FILE)
        size = export.competition_size(out)
        export.check_size(size, limit_mb, name, MODELS)
        check = LinePredictor(out, enable_mkldnn=False)
        check.input.reshape(probe.shape)
        check.input.copy_from_cpu(probe)
        check.predictor.run()
        drift = float(np.abs(check.output.copy_to_cpu() - reference).max())
        if drift > 1e-3:
            raise PipelineError(f"the exported program disagrees with the trained model "
                                f"(max difference {drift:.2e})", where=str(out),
                                fix="report this with LINEREC_DEBUG=1 output")

    write_json("metrics/export.json", {
        "model": name, "size_mb": round(size / export.MB, 3), "limit_mb": limit_mb,
        "parameters": parameters, "max_output_drift": drift,
    })
    print(f"export: {name} → {OUT_DIR} ({size / export.MB:.2f} MB of {limit_mb:g} MB, "
          f"{parameters:,} parameters)")


if __name__ == "__main__":
    run_main(main)
