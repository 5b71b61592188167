"""Inference engines side by side on one export (``python -m linerec.bench --engines``).

1. Each installed engine (engines.py) through LinePredictor, one thread, predict.batch_size, each
   in a fresh process: construction and a one-crop warm-up off the clock, then --repeats passes
   over the same crops; img/s median (min-max) and the lines whose text differs from Paddle
   Inference's (the reference).
2. The whole process, model load included, as a user runs it: ``python -m linerec.recognize
   EXPORT FOLDER --workers 1 --threads 1`` (its default engine) against a process that reads the
   same folder with paddleocr's TextRecognizer (one thread), --repeats times each, alternating;
   wall seconds and the share of lines both read alike.

The export is --export (a folder the export stage wrote, with inference.onnx) or, by default,
PP-OCRv6 small zero-shot with params.yaml's head and export.weights, made as the export stage
makes it. The crops are --crops (a folder of crop images, read as recognize reads it) or
--num-images rendered ones (the sample's realistic profile).
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

from linerec.bench import data
from linerec.bench.measure import print_table, run_function, run_measured, spread, summary
from linerec.bench.training import project_params


def export_default(out_dir, model_cfg, image_shape, storage, label_chars):
    """In a legacy-programs child: PP-OCRv6 as shipped, exported as the export stage does."""
    from linerec.charset import ppocr_keys_path, read_dictionary
    from linerec.families import family_for
    from linerec.inference import export
    from linerec.model_store import model_info

    family = family_for(model_cfg, image_shape, use_space_char=True)
    characters = family.characters(read_dictionary(ppocr_keys_path()), list(label_chars))
    classes = family.classes(characters)
    model = family.start(classes, log=lambda *_: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True)
    dict_path = out_dir.parent / "dict.txt"
    dict_path.write_text("".join(c + "\n" for c in characters), encoding="utf-8")
    info = model_info(family, len(classes), 25, "ppocrv6")
    export.export_inference_model(model, family.image_shape, out_dir, storage, onnx_dict=dict_path)
    export.write_export_config(out_dir, info, dict_path)
    return {"classes": len(classes), "size_mb": export.competition_size(out_dir) / export.MB}


def read_with(engine, model_dir, crops_dir, batch_size, repeats):
    """In a child: one engine, one thread; img/s of each pass over the folder's crops."""
    from linerec.inference.predictor import LinePredictor
    from linerec.inference.preprocess import read_image
    from linerec.recognize import folder_images

    images = [read_image(path) for _, path in folder_images(crops_dir)]
    start = time.perf_counter()
    predictor = LinePredictor(model_dir, batch_size=batch_size, cpu_threads=1, engine=engine)
    predictor.predict(images[:1])
    setup = time.perf_counter() - start
    speeds = []
    for _ in range(repeats):
        begin = time.perf_counter()
        texts = [text for text, _ in predictor.predict(images)]
        speeds.append(len(images) / (time.perf_counter() - begin))
    return {"images_per_s": speeds, "setup_s": setup, "texts": texts}


def text_recognizer_folder(model_dir, crops_dir, batch_size):
    """In a child (the whole process is timed): paddleocr's TextRecognizer over the folder."""
    from linerec.inference.preprocess import read_image
    from linerec.inference.text_recognizer import paddleocr_recognizer
    from linerec.recognize import folder_images

    recognizer = paddleocr_recognizer(model_dir, batch_size, threads=1)
    images = [read_image(path) for _, path in folder_images(crops_dir)]
    return {"texts": [text for text, _ in recognizer(images)[0]]}


def _write_crops(folder, num_images):
    folder.mkdir(parents=True)
    for index, (_, jpeg) in enumerate(data.rendered_lines(num_images, seed=2027)):
        (folder / f"{index:05d}.jpg").write_bytes(jpeg)


def _recognize_texts(tsv):
    rows = [line.split("\t") for line in tsv.read_text(encoding="utf-8").splitlines()[1:]]
    return [row[1] for row in rows]


def measure(export_dir=None, crops_dir=None, num_images=200, repeats=3, batch_size=None,
            params=None):
    from linerec.inference import engines

    params = params or project_params()
    batch_size = batch_size or params["predict"]["batch_size"]
    with tempfile.TemporaryDirectory(prefix="linerec-bench-engines-") as folder:
        folder = Path(folder)
        if crops_dir is None:
            crops_dir = folder / "crops"
            _write_crops(crops_dir, num_images)
        if export_dir is None:
            v6 = params["train_ppocrv6"]
            export_dir = folder / "export"
            made = run_function("linerec.bench.engines:export_default", {
                "out_dir": str(export_dir), "model_cfg": v6["model"],
                "image_shape": v6["image_shape"], "storage": params["export"]["weights"],
                "label_chars": ""}, legacy_programs=True)
            if "error" in made:
                print(f"engines: export failed: {made['error']}")
                return {"error": made["error"]}
        export_dir = Path(export_dir)
        rows, table, reference = [], [], None
        for engine in engines.ENGINES:
            if not engines.installed(engine) or not engines.has_files(engine, export_dir):
                continue
            run = run_function("linerec.bench.engines:read_with", {
                "engine": engine, "model_dir": str(export_dir), "crops_dir": str(crops_dir),
                "batch_size": batch_size, "repeats": repeats})
            if "error" in run:
                rows.append({"engine": engine, "error": run["error"]})
                table.append([engine, f"error: {run['error']}", "", "", ""])
                continue
            reference = reference or run["texts"]  # paddle runs first: the reference
            row = {"engine": engine, "images_per_s": summary(run["images_per_s"]),
                   "setup_s": round(run["setup_s"], 2), "peak_rss_mb": run["peak_rss_mb"],
                   "lines_differing_from_paddle": sum(
                       a != b for a, b in zip(reference, run["texts"]))}
            rows.append(row)
            table.append([engine, spread(row["images_per_s"]), f"{row['setup_s']:.1f}",
                          row["lines_differing_from_paddle"], f"{row['peak_rss_mb']:.0f}"])
        lines = len(reference or [])
        print(f"\nengines: {export_dir} over {lines} crops ({crops_dir}), batch {batch_size}, "
              f"one thread; img/s median (min-max) of {repeats} passes")
        print_table(["engine", "img/s", "setup s", "lines differing from paddle", "peak RSS MB"],
                    table)

        # The whole process, as a user runs each.
        walls = {"recognize": [], "TextRecognizer": []}
        texts = {}
        for _ in range(repeats):
            out = folder / "recognize.tsv"
            run = run_measured([sys.executable, "-m", "linerec.recognize", str(export_dir),
                                str(crops_dir), "--workers", "1", "--threads", "1",
                                "--batch-size", str(batch_size), "-o", str(out)])
            if run["returncode"] != 0:
                tail = "; ".join(line for _, line in run["lines"][-3:])
                return {"engines": rows, "error": f"recognize failed: {tail}"}
            walls["recognize"].append(run["wall_s"])
            texts["recognize"] = _recognize_texts(out)
            engine_line = [line for _, line in run["lines"] if line.startswith("recognize: ")]
            theirs = run_function("linerec.bench.engines:text_recognizer_folder", {
                "model_dir": str(export_dir), "crops_dir": str(crops_dir),
                "batch_size": batch_size})
            if "error" in theirs:
                return {"engines": rows, "error": f"TextRecognizer failed: {theirs['error']}"}
            walls["TextRecognizer"].append(theirs["wall_s"])
            texts["TextRecognizer"] = theirs["texts"]
        same = sum(a == b for a, b in zip(texts["recognize"], texts["TextRecognizer"]))
        whole = {"recognize": summary(walls["recognize"]),
                 "text_recognizer": summary(walls["TextRecognizer"]),
                 "recognize_summary": engine_line[-1] if engine_line else "",
                 "speedup": summary(t / r for t, r in zip(walls["TextRecognizer"],
                                                          walls["recognize"])),
                 "identical_lines": same, "lines": len(texts["recognize"])}
        print(f"\nwhole process over the same {whole['lines']} crops, one thread, wall s median "
              f"(min-max) of {repeats}:")
        print_table(["reader", "wall s"],
                    [["python -m linerec.recognize (default engine)", spread(whole["recognize"])],
                     ["paddleocr TextRecognizer", spread(whole["text_recognizer"])]])
        print(f"  speed-up {spread(whole['speedup'], 2)}x; identical text on {same}/"
              f"{whole['lines']} lines; {whole['recognize_summary']}")
        if crops_dir == folder / "crops":
            shutil.rmtree(crops_dir)
    return {"export": str(export_dir), "crops": str(crops_dir), "batch_size": batch_size,
            "threads": 1, "repeats": repeats, "engines": rows, "whole_process": whole}
