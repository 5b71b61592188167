"""Inference throughput: each family's export, with float32 and int16 weights, through our
LinePredictor and through paddleocr's TextRecognizer, on the same rendered crops, one thread.

Exports are made as the export stage makes them (export_inference_model, then the weight
storage rewrite) in a child process configured with configure_stage(legacy_programs=True),
from the family's starting weights: PP-OCRv4 and PP-OCRv6 pretrained (their heads fitted to the
crops' characters as training would fit them), the mobile CRNN untrained over the full
6,623-character dictionary (its speed does not depend on what it learned).

Each (model, weights, recogniser) runs in a fresh process: construction and a one-crop warm-up
are off the clock; then --repeats passes, each over its own set of crops (new crop widths, so
each pass pays oneDNN's compiles for its shapes as the predict stage's pass over the test set
does). Batches are predict.batch_size's.
"""

import pickle
import shutil
import tempfile
import time
from pathlib import Path

from linerec.bench import data
from linerec.bench.measure import print_table, run_function, spread, summary
from linerec.bench.training import COMPETITION_SHAPE, project_params

STORAGES = ("float32", "int16")
KINDS = ("paddleocr", "linerec")
MODEL_NAMES = ("mobile", "ppocrv4", "ppocrv6-tiny", "ppocrv6-small")


def models(params):
    """name -> (train_<model> section name, model section, input shape), for MODEL_NAMES."""
    v6 = params["train_ppocrv6"]
    return {
        "mobile": ("mobile", params["train_mobile"]["model"], COMPETITION_SHAPE),
        "ppocrv4": ("ppocrv4", params["train_ppocrv4"]["model"],
                    params["train_ppocrv4"]["image_shape"]),
        "ppocrv6-tiny": ("ppocrv6", {**v6["model"], "variant": "tiny"}, v6["image_shape"]),
        "ppocrv6-small": ("ppocrv6", {**v6["model"], "variant": "small"}, v6["image_shape"]),
    }


def export_model(name, model_cfg, image_shape, label_chars, out_dir, storages):
    """In a child configured for legacy programs: out_dir/<storage>/, one export per storage."""
    import paddle

    from linerec.charset import ppocr_keys_path, read_dictionary
    from linerec.families import family_for
    from linerec.inference import export
    from linerec.inference.weight_storage import store_weights_compactly
    from linerec.model_store import model_info

    start = time.perf_counter()
    family = family_for(model_cfg, image_shape, use_space_char=True)
    characters = family.characters(read_dictionary(ppocr_keys_path()), list(label_chars))
    classes = family.classes(characters)
    paddle.seed(0)
    model = family.start(classes, log=lambda *_: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dict_path = out_dir / "dict.txt"
    dict_path.write_text("".join(c + "\n" for c in characters), encoding="utf-8")
    first = out_dir / "float32"
    first.mkdir()
    export.export_inference_model(model, family.image_shape, first, "float32")
    export.write_export_config(first, model_info(family, len(classes), 25, name), dict_path)
    sizes = {}
    for storage in storages:
        folder = out_dir / storage
        if storage != "float32":
            shutil.copytree(first, folder)
            store_weights_compactly(folder, storage)
        sizes[storage] = export.competition_size(folder) / export.MB
    return {"classes": len(classes), "size_mb": sizes, "export_s": time.perf_counter() - start}


def recognise(kind, model_dir, crops_file, batch_size):
    """In a child: one recogniser, one thread; img/s of each pass (each over its own crops)."""
    from linerec.inference.predictor import LinePredictor
    from linerec.inference.text_recognizer import paddleocr_recognizer

    with open(crops_file, "rb") as handle:
        passes = pickle.load(handle)
    start = time.perf_counter()
    if kind == "paddleocr":
        recognizer = paddleocr_recognizer(model_dir, batch_size, threads=1)

        def read(images):
            return [text for text, _ in recognizer(images)[0]]
    else:
        predictor = LinePredictor(model_dir, batch_size=batch_size, cpu_threads=1, workers=1)

        def read(images):
            return [text for text, _ in predictor.predict(images)]
    read(passes[0][:1])
    setup = time.perf_counter() - start
    speeds, texts = [], []
    for crops in passes:
        begin = time.perf_counter()
        texts += read(crops)
        speeds.append(len(crops) / (time.perf_counter() - begin))
    return {"images_per_s": speeds, "setup_s": setup, "texts": texts}


def measure(names, storages, num_images, repeats, batch_size=None, params=None):
    params = params or project_params()
    batch_size = batch_size or params["predict"]["batch_size"]
    catalogue = models(params)
    rows, table = [], []
    with tempfile.TemporaryDirectory(prefix="linerec-bench-infer-") as folder:
        crops, texts = data.rendered_crops(num_images * repeats)
        passes = [crops[i * num_images:(i + 1) * num_images] for i in range(repeats)]
        crops_file = Path(folder) / "crops.pkl"
        with open(crops_file, "wb") as handle:
            pickle.dump(passes, handle)
        stats = data.crop_stats(crops)
        label_chars = "".join(dict.fromkeys("".join(texts)))
        for name in names:
            _, model_cfg, shape = catalogue[name]
            exported = run_function("linerec.bench.inference:export_model", {
                "name": catalogue[name][0], "model_cfg": model_cfg, "image_shape": shape,
                "label_chars": label_chars, "out_dir": str(Path(folder) / name),
                "storages": list(storages)}, legacy_programs=True)
            if "error" in exported:
                rows.append({"model": name, "error": exported["error"],
                             "output_tail": exported.get("output_tail")})
                table.append([name, "", "", f"export failed: {exported['error']}"])
                continue
            reference = None
            for storage in storages:
                runs = {kind: run_function("linerec.bench.inference:recognise", {
                    "kind": kind, "model_dir": str(Path(folder) / name / storage),
                    "crops_file": str(crops_file), "batch_size": batch_size}) for kind in KINDS}
                row = {"model": name, "weights": storage, "input": "x".join(map(str, shape)),
                       "classes": exported["classes"],
                       "size_mb": round(exported["size_mb"][storage], 2),
                       "export_s": round(exported["export_s"], 1),
                       "export_peak_rss_mb": exported["peak_rss_mb"]}
                failed = next((r for r in runs.values() if "error" in r), None)
                if failed:
                    rows.append({**row, "error": failed["error"],
                                 "output_tail": failed.get("output_tail")})
                    table.append([name, storage, row["size_mb"], f"error: {failed['error']}"])
                    continue
                theirs, ours = runs["paddleocr"], runs["linerec"]
                reference = reference or theirs["texts"]
                row.update(
                    paddleocr=summary(theirs["images_per_s"]), linerec=summary(ours["images_per_s"]),
                    setup_s={kind: round(runs[kind]["setup_s"], 2) for kind in KINDS},
                    peak_rss_mb={kind: runs[kind]["peak_rss_mb"] for kind in KINDS},
                    differing_lines=sum(a != b for a, b in zip(theirs["texts"], ours["texts"])),
                    differing_from_float32=sum(a != b for a, b in zip(reference, ours["texts"])))
                row["ratio"] = row["linerec"]["median"] / row["paddleocr"]["median"]
                rows.append(row)
                table.append([name, storage, f"{row['size_mb']:.1f}", spread(row["paddleocr"]),
                              spread(row["linerec"]), f"{row['ratio']:.2f}x",
                              "yes" if not row["differing_lines"] else f"{row['differing_lines']} differ",
                              row["differing_from_float32"],
                              f"{row['setup_s']['paddleocr']:.1f}/{row['setup_s']['linerec']:.1f}",
                              f"{row['peak_rss_mb']['paddleocr']:.0f}/{row['peak_rss_mb']['linerec']:.0f}"])
    print(f"\ninference: {num_images} crops a pass x {repeats} passes (rendered, realistic profile, "
          f"aspect ratio median {stats['aspect_ratio']['median']}, max {stats['aspect_ratio']['max']}), "
          f"batch {batch_size}, one thread; img/s median (min-max)")
    print_table(["model", "weights", "MB", "TextRecognizer", "LinePredictor", "ratio",
                 "same text", "vs fp32", "setup s", "peak RSS MB"], table)
    print("  (same text: LinePredictor vs TextRecognizer on every crop; vs fp32: lines our "
          "reading differs from TextRecognizer's on the float32 export; setup and RSS: theirs/ours)")
    return {"crops": {**stats, "per_pass": num_images, "source": "rendered, realistic profile"},
            "batch_size": batch_size, "threads": 1, "repeats": repeats, "rows": rows}
