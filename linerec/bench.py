"""Benchmarks on this machine: training and inference throughput and `dvc repro` wall time.

    python -m linerec.bench                          training + inference (long: see --competition-batch)
    python -m linerec.bench --training --quick       training at the sample settings only
    python -m linerec.bench --inference [--model-dir models/export] [--images DIR]
    python -m linerec.bench --repro                  + `dvc repro` of the whole pipeline in a fresh clone
    python -m linerec.bench --noop-only              only a no-op `dvc repro` here (workspace up to date)

Each table is printed and stored under its own key in --out (metrics/bench.json); sections not
run keep their previous figures there. Figures are the median of --repeats runs with their
min-max spread. Each section also records how many CPU cores other processes kept busy while it
ran: on a shared machine, that says which figures were taken under contention. Speed is measured here, never asserted in tests.

Training: one child process per configuration (so peak RSS is that configuration's), one
warm-up step, then --repeats runs of --steps steps, as the trainer runs them. Per batch: read
(reading, decoding, augmenting, resizing and stacking it, timed on its own), compute (forward,
CTC loss, backward, Adam step) and waited (how long a step waited for the DataLoader, whose
background thread reads ahead; img/s counts compute and waiting).

Inference: the same exported model and the same crops through paddleocr's TextRecognizer and
through our LinePredictor, each in a fresh child process per run, oneDNN on. Construction and
a one-crop warm-up call are off the clock for both; the timed pass is the first over the crops,
as in the predict stage. A thread budget of T means TextRecognizer with cpu_threads=T and
LinePredictor with T processes of one thread each.
"""

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import yaml

from linerec.atomic import write_json

COMPETITION_SHAPE = [3, 32, 320]
SPLIT_DIR = Path("data/split")
DEFAULT_MODEL_DIR = "models/export"
MOBILE = {"backbone": {"name": "MobileNetV3", "model_name": "small", "scale": 0.5,
                       "small_stride": [1, 2, 2, 2]}, "neck": {"hidden_size": 48}}


# ---------------------------------------------------------------- shared helpers

def in_child(function, *args):
    """function(*args) in a fresh process: its memory peak and one-off costs are its own."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        try:
            return pool.submit(function, *args).result()
        except concurrent.futures.process.BrokenProcessPool:
            return {"error": "the child process died (out of memory?)"}
        except Exception as error:  # shown in the table rather than ending the whole run
            return {"error": f"{type(error).__name__}: {error}"}


def volunteer_for_oom_kill():
    """If memory runs out (the server at batch 256 needs ~15 GB), the kernel should end this
    benchmark process rather than anything else running on a shared machine."""
    try:
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass


def peak_rss_mb():
    """This process's peak RSS, plus the largest peak among its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + children) / 1024, 1)  # Linux reports KiB


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def spread(stats, digits=1):
    return f"{stats['median']:.{digits}f} ({stats['min']:.{digits}f}-{stats['max']:.{digits}f})"


def load_average():
    return [round(v, 2) for v in os.getloadavg()]


class OtherLoad:
    """CPU cores that other processes kept busy, on average, while a section ran: the machine's
    busy time (/proc/stat) minus this process's and its children's."""

    def __enter__(self):
        self.start = self._sample()
        return self

    def __exit__(self, *exc_info):
        machine_busy, ours, wall = (b - a for a, b in zip(self.start, self._sample()))
        self.cores = round(max(0.0, machine_busy - ours) / wall, 2) if machine_busy >= 0 else None

    @staticmethod
    def _sample():
        ours = sum(getattr(resource.getrusage(who), field)
                   for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                   for field in ("ru_utime", "ru_stime"))
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
            # user nice system idle iowait irq softirq steal: all but idle and iowait
            busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))
            busy /= os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            busy = -1.0
        return busy, ours, time.perf_counter()


def machine():
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                 platform.processor() or platform.machine())
    versions = {}
    for package in ("paddlepaddle", "paddleocr", "dvc"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": model, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            **versions}


def read_params(path="params.yaml"):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- training

@dataclass
class TrainCase:
    model: str
    settings: str  # "sample" or "competition"
    model_cfg: dict
    image_shape: list
    batch_size: int
    dict_path: str
    use_space_char: bool
    max_text_length: int
    augment: bool
    num_workers: int
    l2: float
    label_file: str


def training_cases(params, data, models, competition_batch, quick):
    """The sample settings from params.yaml and the competition shape."""
    from linerec.charset import ppocr_keys_path

    cases = []
    common = dict(use_space_char=params["data"]["use_space_char"],
                  max_text_length=params["data"]["max_text_length"], label_file=data["label_file"])
    for model in models:
        section = params[f"train_{model}"]
        cases.append(TrainCase(model, "sample", section["model"], params["data"]["image_shape"],
                               section["batch_size"], data["dict_path"], augment=section["augment"],
                               num_workers=section["num_workers"], l2=section["l2"], **common))
    if not quick:
        for model in models:
            section = params[f"train_{model}"]
            # The preset's augmentation. Its 8 DataLoader workers are for a GPU machine; on this
            # CPU one would compete with the step for the second core (params.yaml uses 0).
            cases.append(TrainCase(model, "competition", section["model"], COMPETITION_SHAPE,
                                   competition_batch, str(ppocr_keys_path()), augment=True,
                                   num_workers=0, l2=section["l2"], **common))
    return cases


def training_data(params, folder):
    """data/split when the pipeline has made it; otherwise crops rendered like the sample."""
    if (SPLIT_DIR / "train.txt").exists() and (SPLIT_DIR / "dict.txt").exists():
        return {"label_file": str(SPLIT_DIR / "train.txt"), "dict_path": str(SPLIT_DIR / "dict.txt"),
                "source": str(SPLIT_DIR)}
    from linerec.synth import dataset, fonts, render, text

    spec = dataset.SampleSpec(**params["sample"])
    paths = fonts.find_fonts()
    lines = text.SignText(dataset.build_profile(spec, fonts.drawable_chars(paths)))
    faces = fonts.faces(paths)
    folder = Path(folder)
    rows, chars = [], {}
    for index in range(512):
        rng = np.random.default_rng([spec.seed, 0, index])
        line = lines.line(rng)
        face = faces[int(rng.integers(len(faces)))]
        path = folder / f"{index}.jpg"
        path.write_bytes(render.render_jpeg(line, face, rng, spec.difficulty))
        rows.append(f"{path}\t{line}")
        chars.update((c, None) for c in line if c != " ")
    (folder / "train.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "dict.txt").write_text("\n".join(chars) + "\n", encoding="utf-8")
    return {"label_file": str(folder / "train.txt"), "dict_path": str(folder / "dict.txt"),
            "source": f"{len(rows)} crops rendered with params.yaml's sample section"}


class RandomBatches:
    """Batches of random line indices: any number of steps from a training set of any size."""

    def __init__(self, size, batch_size, count, seed):
        self.size, self.batch_size, self.count, self.seed = size, batch_size, count, seed

    def __iter__(self):
        rng = np.random.default_rng(self.seed)
        for _ in range(self.count):
            yield rng.integers(self.size, size=self.batch_size).tolist()

    def __len__(self):
        return self.count


def train_in_child(case, steps, repeats):
    volunteer_for_oom_kill()
    import paddle

    from linerec.charset import ctc_classes, read_dictionary
    from linerec.data.dataset import LineDataset
    from linerec.modeling.losses.rec_ctc_loss import CTCLoss
    from linerec.modeling.recognizer import build_recognizer

    paddle.seed(0)
    classes = ctc_classes(read_dictionary(case.dict_path), case.use_space_char)
    dataset = LineDataset(case.label_file, case.dict_path, case.image_shape, case.max_text_length,
                          case.use_space_char, augment=case.augment)

    # Reading alone, in this thread: what a batch costs to read, decode, augment and stack.
    # The training loop reads as the trainer does, through a DataLoader, whose background
    # thread prepares batches ahead (so its wait is only the part of reading left exposed).
    reading = iter(RandomBatches(len(dataset), case.batch_size, steps * repeats, seed=1))
    training = iter(paddle.io.DataLoader(
        dataset, batch_sampler=RandomBatches(len(dataset), case.batch_size, 1 + steps * repeats, 0),
        num_workers=case.num_workers))
    model = build_recognizer(case.model_cfg, num_classes=len(classes))
    model.train()
    optimizer = paddle.optimizer.Adam(learning_rate=1e-4, parameters=model.parameters(),
                                      weight_decay=paddle.regularizer.L2Decay(case.l2))
    loss_fn = CTCLoss()

    def step():
        start = time.perf_counter()
        images, labels, lengths = next(training)
        read = time.perf_counter()
        loss_fn(model(images), labels, lengths).backward()
        optimizer.step()
        optimizer.clear_grad()
        return read - start, time.perf_counter() - read

    step()  # first-step allocations and kernel choices
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            samples = [dataset[i] for i in next(reading)]
            [np.stack(column) for column in zip(*samples)]
        read = time.perf_counter() - start
        wait = compute = 0.0
        for _ in range(steps):
            w, c = step()
            wait, compute = wait + w, compute + c
        runs.append({"images_per_s": case.batch_size * steps / (wait + compute),
                     "read_ms_per_batch": 1000 * read / steps,
                     "wait_ms_per_batch": 1000 * wait / steps,
                     "compute_ms_per_batch": 1000 * compute / steps})
    return {"classes": len(classes), "runs": runs, "peak_rss_mb": peak_rss_mb()}


def bench_training(args, params):
    with tempfile.TemporaryDirectory(prefix="linerec-bench-train-") as folder:
        data = training_data(params, folder)
        cases = training_cases(params, data, args.models, args.competition_batch, args.quick)
        print(f"\ntraining ({data['source']}; {args.steps} steps x {args.repeats} runs after one "
              "warm-up step; img/s median (min-max))")
        print(f"{'model':7} {'settings':11} {'input':9} {'batch':>5} {'classes':>7} "
              f"{'img/s':>18} {'read ms':>8} {'compute ms':>10} {'read':>5} {'waited ms':>9} "
              f"{'peak RSS':>9}")
        rows = []
        for case in cases:
            result = in_child(train_in_child, case, args.steps, args.repeats)
            row = {**{k: v for k, v in asdict(case).items() if k not in ("label_file",)},
                   "input": "x".join(map(str, case.image_shape))}
            prefix = (f"{case.model:7} {case.settings:11} {row['input']:9} {case.batch_size:>5} ")
            if "error" in result:
                rows.append({**row, "error": result["error"]})
                print(f"{prefix}error: {result['error']}")
                continue
            runs = result["runs"]
            row.update(classes=result["classes"], peak_rss_mb=result["peak_rss_mb"],
                       **{key: summary([r[key] for r in runs]) for key in runs[0]})
            read = row["read_ms_per_batch"]["median"]
            compute = row["compute_ms_per_batch"]["median"]
            row["read_share"] = read / (read + compute)
            rows.append(row)
            print(f"{prefix}{row['classes']:>7} {spread(row['images_per_s']):>18} {read:>8.0f} "
                  f"{compute:>10.0f} {row['read_share']:>5.0%} "
                  f"{row['wait_ms_per_batch']['median']:>9.0f} {row['peak_rss_mb']:>6.0f} MB")
    return {"steps": args.steps, "repeats": args.repeats, "data": data["source"], "rows": rows}


# ---------------------------------------------------------------- inference

def export_untrained_mobile(project):
    """A freshly initialised mobile CRNN over the full dictionary, exported by stages/export.py
    in its own process (export needs FLAGS_enable_pir_api=0 before paddle is imported)."""
    import paddle

    from linerec.charset import ppocr_keys_path, read_dictionary
    from linerec.families.crnn import CRNN
    from linerec.model_store import model_info
    from linerec.training import checkpoint

    project = Path(project)
    family = CRNN(MOBILE, COMPETITION_SHAPE, use_space_char=True)
    classes = family.classes(read_dictionary(ppocr_keys_path()))
    paddle.seed(0)
    model_dir = project / "models" / "mobile"
    checkpoint.save(model_dir / "best", family.build(len(classes)), None, {"step": 0},
                    model_info(family, len(classes), 25, "mobile"), ppocr_keys_path())
    params = read_params()
    params["export"]["model"] = "mobile"
    params["export"]["weights"] = "float32"
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    result = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "stages" / "export.py")],
                            cwd=project, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"export failed:\n{result.stdout}\n{result.stderr}")
    return {"exported": str(project / "models" / "export")}


def render_crops(count, seed=7):
    """Street-sign crops of 1-25 characters over the full dictionary (the realistic profile)."""
    from linerec.charset import ppocr_keys_path, read_dictionary
    from linerec.inference.preprocess import decode_image
    from linerec.synth import fonts, render, text

    paths = fonts.find_fonts()
    lines = text.SignText(text.realistic_profile(read_dictionary(ppocr_keys_path()),
                                                 fonts.drawable_chars(paths)))
    faces = fonts.faces(paths)
    crops = []
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        line = lines.line(rng)
        face = faces[int(rng.integers(len(faces)))]
        crops.append(decode_image(render.render_jpeg(line, face, rng, 0.3)))
    return crops


def read_crops(folder, count):
    from linerec.inference.preprocess import read_image

    paths = sorted(p for p in Path(folder).iterdir() if p.is_file())[:count]
    return [image for image in map(read_image, paths) if image is not None]


def paddleocr_recognizer(model_dir, batch_size, threads):
    """paddleocr's TextRecognizer as its predict_rec.py would build it from our export's flags."""
    from paddleocr.tools.infer import utility
    from paddleocr.tools.infer.predict_rec import TextRecognizer

    config = json.loads((Path(model_dir) / "recognizer.json").read_text(encoding="utf-8"))
    flags = config["paddleocr_args"]
    args = utility.init_args().parse_args([])
    args.rec_model_dir = str(model_dir)
    args.rec_algorithm = flags["rec_algorithm"]
    args.rec_image_shape = flags["rec_image_shape"]
    args.rec_char_dict_path = str(Path(model_dir) / flags["rec_char_dict_path"])
    args.use_space_char = flags["use_space_char"]
    args.use_gpu = False
    args.enable_mkldnn = True
    args.cpu_threads = threads
    args.rec_batch_num = batch_size
    args.show_log = False
    return TextRecognizer(args)


def recognise_in_child(kind, model_dir, crops_file, batch_size, threads):
    with open(crops_file, "rb") as handle:
        crops = pickle.load(handle)
    start = time.perf_counter()
    if kind == "paddleocr":
        recognizer = paddleocr_recognizer(model_dir, batch_size, threads)

        def recognise(images):
            return [text for text, _ in recognizer(images)[0]]
        close = None
    else:
        from linerec.inference.predictor import LinePredictor

        predictor = LinePredictor(model_dir, batch_size=batch_size, cpu_threads=1, workers=threads)

        def recognise(images):
            return [text for text, _ in predictor.predict(images)]
        close = predictor.close
    recognise(crops[:1])
    setup = time.perf_counter() - start
    start = time.perf_counter()
    texts = recognise(crops)
    elapsed = time.perf_counter() - start
    if close is not None:
        close()
    return {"images_per_s": len(crops) / elapsed, "setup_s": setup, "texts": texts,
            "peak_rss_mb": peak_rss_mb()}


def crop_stats(crops):
    ratios = [image.shape[1] / image.shape[0] for image in crops]
    heights = [image.shape[0] for image in crops]
    return {"count": len(crops),
            "aspect_ratio_percentiles": dict(zip(("min", "p25", "median", "p75", "max"),
                                                 np.percentile(ratios, [0, 25, 50, 75, 100]).round(2).tolist())),
            "height_range": [int(min(heights)), int(max(heights))]}


def prepare_model(args, folder):
    model_dir = Path(args.model_dir)
    if (model_dir / "recognizer.json").exists():
        return model_dir, str(model_dir)
    if args.model_dir != DEFAULT_MODEL_DIR:
        raise SystemExit(f"error: {model_dir}/recognizer.json not found (an exported model folder?)")
    result = in_child(export_untrained_mobile, folder)
    if "error" in result:
        raise SystemExit(f"error: exporting an untrained mobile model: {result['error']}")
    return Path(result["exported"]), "untrained mobile CRNN, full dictionary (exported by the bench)"


def bench_inference(args):
    with tempfile.TemporaryDirectory(prefix="linerec-bench-infer-") as folder:
        model_dir, model_source = prepare_model(args, folder)
        config = json.loads((model_dir / "recognizer.json").read_text(encoding="utf-8"))
        if args.images == "synth":
            crops, crop_source = render_crops(args.num_images), "rendered, realistic profile"
        else:
            crops, crop_source = read_crops(args.images, args.num_images), args.images
        crops_file = Path(folder) / "crops.pkl"
        with open(crops_file, "wb") as handle:
            pickle.dump(crops, handle)
        stats = crop_stats(crops)
        print(f"\ninference: {model_source} ({config.get('algorithm', 'CRNN')}, "
              f"{'x'.join(map(str, config['image_shape']))}); {stats['count']} crops ({crop_source}, "
              f"aspect ratio median {stats['aspect_ratio_percentiles']['median']}, "
              f"max {stats['aspect_ratio_percentiles']['max']}); img/s median (min-max) of "
              f"{args.repeats} runs")
        configs = [(kind, batch, threads) for batch in args.batch_sizes for threads in args.threads
                   for kind in ("paddleocr", "linerec")]
        runs = {config_: [] for config_ in configs}
        for _ in range(args.repeats):  # interleaved, so that a change of load hits all alike
            for kind, batch, threads in configs:
                runs[(kind, batch, threads)].append(
                    in_child(recognise_in_child, kind, str(model_dir), str(crops_file), batch, threads))
    rows = inference_rows(runs, configs)
    print(f"{'batch':>5} {'threads':>7} {'TextRecognizer':>20} {'LinePredictor':>20} {'ratio':>6} "
          f"{'same text':>9} {'setup s':>9} {'peak RSS MB':>11}")
    for row in rows:
        if "error" in row:
            print(f"{row['batch_size']:>5} {row['threads']:>7} error: {row['error']}")
            continue
        print(f"{row['batch_size']:>5} {row['threads']:>7} {spread(row['paddleocr']):>20} "
              f"{spread(row['linerec']):>20} {row['ratio']:>5.2f}x "
              f"{'yes' if row['identical_text'] else str(row['differing_lines']) + ' differ':>9} "
              f"{row['setup_s']['paddleocr']:>4.1f}/{row['setup_s']['linerec']:<4.1f} "
              f"{row['peak_rss_mb']['paddleocr']:>5.0f}/{row['peak_rss_mb']['linerec']:<5.0f}")
    best = fastest(rows, args.threads)
    for budget in best:
        print(f"fastest within {budget['threads']} thread(s): LinePredictor "
              f"{budget['linerec']:.0f} img/s (batch {budget['linerec_batch']}, "
              f"{budget['linerec_threads']} thread(s)) vs TextRecognizer "
              f"{budget['paddleocr']:.0f} img/s (batch {budget['paddleocr_batch']}, "
              f"{budget['paddleocr_threads']} thread(s)): {budget['ratio']:.2f}x")
    return {"model": model_source, "algorithm": config.get("algorithm", "CRNN"),
            "image_shape": config["image_shape"], "crops": {**stats, "source": crop_source},
            "repeats": args.repeats, "rows": rows, "fastest": best}


def inference_rows(runs, configs):
    rows = []
    for batch, threads in dict.fromkeys((b, t) for _, b, t in configs):
        theirs, ours = runs[("paddleocr", batch, threads)], runs[("linerec", batch, threads)]
        row = {"batch_size": batch, "threads": threads}
        failed = next((r for r in theirs + ours if "error" in r), None)
        if failed:
            rows.append({**row, "error": failed["error"]})
            continue
        reference = theirs[0]["texts"]
        differing = max(sum(a != b for a, b in zip(reference, r["texts"])) for r in theirs + ours)
        row.update(paddleocr=summary([r["images_per_s"] for r in theirs]),
                   linerec=summary([r["images_per_s"] for r in ours]),
                   setup_s={"paddleocr": statistics.median(r["setup_s"] for r in theirs),
                            "linerec": statistics.median(r["setup_s"] for r in ours)},
                   peak_rss_mb={"paddleocr": max(r["peak_rss_mb"] for r in theirs),
                                "linerec": max(r["peak_rss_mb"] for r in ours)},
                   identical_text=differing == 0, differing_lines=differing)
        row["ratio"] = row["linerec"]["median"] / row["paddleocr"]["median"]
        rows.append(row)
    return rows


def fastest(rows, thread_budgets):
    """Per thread budget: each recogniser at its fastest batch size and thread count within it."""
    rows = [row for row in rows if "error" not in row]
    best = []
    for budget in sorted(thread_budgets):
        within = [row for row in rows if row["threads"] <= budget]
        if not within:
            continue
        mine = max(within, key=lambda row: row["linerec"]["median"])
        other = max(within, key=lambda row: row["paddleocr"]["median"])
        best.append({"threads": budget, "linerec": mine["linerec"]["median"],
                     "linerec_batch": mine["batch_size"], "linerec_threads": mine["threads"],
                     "paddleocr": other["paddleocr"]["median"], "paddleocr_batch": other["batch_size"],
                     "paddleocr_threads": other["threads"],
                     "ratio": mine["linerec"]["median"] / other["paddleocr"]["median"]})
    return best


# ---------------------------------------------------------------- dvc repro

def stage_environment(project):
    """Stages run `python stages/...`: this environment's python, importing the project's linerec
    (rather than the one this environment has installed in editable mode)."""
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(project) + os.pathsep + env.get("PYTHONPATH", "") \
        if env.get("PYTHONPATH") else str(project)
    return env


def dvc_command():
    beside = Path(sys.executable).parent / "dvc"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "dvc"]


def timed_repro(project, env, log):
    """Seconds for `dvc repro` in project, and when each stage started (from dvc's output)."""
    start = time.perf_counter()
    stages = {}
    with open(log, "a", encoding="utf-8") as out:
        process = subprocess.Popen(dvc_command() + ["repro"], cwd=project, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in process.stdout:
            out.write(line)
            if line.startswith("Running stage '"):
                stages[line.split("'")[1]] = round(time.perf_counter() - start, 1)
        process.wait()
    if process.returncode != 0:
        tail = Path(log).read_text(encoding="utf-8").splitlines()[-20:]
        raise SystemExit("error: dvc repro failed in " + str(project) + ":\n" + "\n".join(tail))
    return time.perf_counter() - start, stages


def bench_repro(source, repeats):
    """The whole pipeline in a fresh clone of source's HEAD (uncommitted changes not included),
    then no-op reruns there."""
    with tempfile.TemporaryDirectory(prefix="linerec-bench-repro-") as folder:
        clone = Path(folder) / "repo"
        subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, check=True,
                                capture_output=True, text=True).stdout.strip()
        env = stage_environment(clone)
        log = Path(folder) / "repro.log"
        print(f"\ndvc repro of commit {commit} in a fresh clone ({clone}); this takes a while")
        full, stages = timed_repro(clone, env, log)
        noop = [timed_repro(clone, env, log)[0] for _ in range(repeats)]
    print(f"whole pipeline {full:.0f} s ({full / 60:.1f} min); no-op {spread(summary(noop), 2)} s")
    return {"commit": commit, "full_s": full, "stage_started_at_s": stages,
            "noop_s": summary(noop)}


def bench_noop_here(repeats):
    env = stage_environment(Path.cwd())
    status = subprocess.run(dvc_command() + ["status", "--json"], env=env, capture_output=True,
                            text=True)
    if status.returncode != 0 or json.loads(status.stdout or "{}"):
        print("\nno-op dvc repro: the workspace is not up to date (dvc status lists changes), so "
              "`dvc repro` would run stages; skipped. Run `dvc repro` first, or use --repro.")
        return None
    with tempfile.TemporaryDirectory(prefix="linerec-bench-noop-") as folder:
        noop = [timed_repro(Path.cwd(), env, Path(folder) / "noop.log")[0] for _ in range(repeats)]
    print(f"\nno-op dvc repro in this workspace: {spread(summary(noop), 2)} s")
    return {"where": "workspace", "noop_s": summary(noop)}


# ---------------------------------------------------------------- main


def model_list(value):
    models = value.split(",")
    if not models or not set(models) <= {"mobile", "server"}:
        raise argparse.ArgumentTypeError(f"{value!r}: expected mobile, server or mobile,server")
    return models


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_argument_group("what to measure (default: --training --inference)")
    what.add_argument("--training", action="store_true")
    what.add_argument("--inference", action="store_true")
    what.add_argument("--repro", action="store_true",
                      help="dvc repro of the whole pipeline in a fresh git clone, then no-op reruns")
    what.add_argument("--noop-only", action="store_true",
                      help="only a no-op dvc repro in this workspace, if it is up to date")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--out", default="metrics/bench.json")
    training = parser.add_argument_group("training")
    training.add_argument("--steps", type=int, default=3, help="timed steps per run (default 3)")
    training.add_argument("--competition-batch", type=int, default=256,
                          help="batch at the competition shape (default 256; the server takes "
                               "~6 min a step at 256 on 2 CPU cores)")
    training.add_argument("--quick", action="store_true", help="only the sample settings")
    training.add_argument("--models", default="mobile,server", type=model_list,
                          help="mobile, server or mobile,server (default)")
    inference = parser.add_argument_group("inference")
    inference.add_argument("--model-dir", default=DEFAULT_MODEL_DIR,
                           help="an exported model folder (default models/export; if absent, an "
                                "untrained mobile CRNN is exported for the run)")
    inference.add_argument("--images", default="synth",
                           help="a folder of crops (e.g. data/extracted/test_images), or synth "
                                "(default): crops rendered with the realistic profile")
    inference.add_argument("--num-images", type=int, default=500)
    inference.add_argument("--batch-sizes", default="6,16,64",
                           type=lambda s: [int(v) for v in s.split(",")])
    inference.add_argument("--threads", default="1,2", type=lambda s: [int(v) for v in s.split(",")],
                           help="thread budgets (default 1,2)")
    args = parser.parse_args(argv)
    if not (args.training or args.inference or args.repro or args.noop_only):
        args.training = args.inference = True
    return args


def main(argv=None):
    args = parse_args(argv)
    out = Path(args.out)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    if not isinstance(report.get("training", {}), dict):
        report = {}  # the layout of an older version of this command: start afresh
    report["machine"] = machine()
    print(f"{report['machine']['cpu']}, {report['machine']['cpu_count']} CPUs; "
          f"load average {load_average()}")
    sections = [("training", args.training, lambda: bench_training(args, read_params())),
                ("inference", args.inference, lambda: bench_inference(args)),
                ("repro", args.repro, lambda: bench_repro(Path.cwd(), args.repeats)),
                ("noop", args.noop_only, lambda: bench_noop_here(args.repeats))]
    for name, wanted, run in sections:
        if not wanted:
            continue
        before = load_average()
        with OtherLoad() as others:
            result = run()
        if result is None:
            continue
        report[name] = {**result, "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "load_average_before": before, "load_average_after": load_average(),
                        "other_processes_cpu_cores": others.cores}
        print(f"{name}: other processes kept {others.cores} of {os.cpu_count()} CPU cores busy "
              "meanwhile")
        write_json(out, report)
    print(f"\n→ {out}")


if __name__ == "__main__":
    main()
