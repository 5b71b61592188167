"""Inference engines: each runs one float32 NCHW batch (as preprocess.batch_input makes it) and
returns the model's per-step class probabilities, N x T x classes. Everything else (batches,
helper processes, decoding) is LinePredictor's, the same whichever engine runs.

- ``paddle``: Paddle Inference on the competition's ``inference.pdmodel`` + ``.pdiparams``, the
  reference the others are held to (tests/inference/test_engines.py).
- ``onnxruntime`` and ``openvino``: the ``inference.onnx`` the export stage writes beside it,
  converted from the same weights rounded exactly as ``export.weights`` stores them (so that
  they read what the .pdmodel reads, not what the unrounded float32 model would).

``auto`` (``resolve``) picks, on CPU, openvino, else onnxruntime, else paddle, among those
installed whose file is in the folder; on a GPU, paddle (its GPU path; the other two are CPU
builds here). Why that order: on the README's 2-core Xeon (one thread, batch 16, the default
fine-tuned PP-OCRv6 small ``common`` int16 export, 49 real crops, ``python -m linerec.bench
--engines --export models/export --crops DIR``, other work keeping ~1.3 cores busy) openvino read
23.6 img/s, onnxruntime 15.9, Paddle Inference 9.9, all three the same text; PP-OCRv4 and the
mobile CRNN read the same text through openvino too (PP-OCRv4 ~1.8x Paddle, the CRNN about even).
"""

import importlib.util
from pathlib import Path

import numpy as np

from linerec.errors import PipelineError

MODEL_FILE = "inference.pdmodel"
PARAMS_FILE = "inference.pdiparams"
ONNX_FILE = "inference.onnx"
PIR_MODEL_FILE = "inference.json"
ENGINES = ("paddle", "openvino", "onnxruntime")
CHOICES = ("auto",) + ENGINES
# What auto prefers on CPU, fastest first (measured: see the module docstring).
CPU_PREFERENCE = ("openvino", "onnxruntime", "paddle")
_MODULES = {"paddle": "paddle", "openvino": "openvino", "onnxruntime": "onnxruntime"}


def installed(name):
    return importlib.util.find_spec(_MODULES[name]) is not None


def model_files(name):
    return (MODEL_FILE, PARAMS_FILE) if name == "paddle" else (ONNX_FILE,)


def has_files(name, model_dir):
    return all((Path(model_dir) / f).is_file() for f in model_files(name))


def wants_onnx(name):
    """Whether a folder for engine ``name`` needs inference.onnx: an ONNX engine, or auto where
    one is installed."""
    if name == "auto":
        return any(installed(e) for e in CPU_PREFERENCE if e != "paddle")
    return name in ("openvino", "onnxruntime")


def resolve(name, model_dir, use_gpu=False, where="predict.engine"):
    """The engine ``name`` stands for: itself, checked, or auto's choice for this folder."""
    if name not in CHOICES:
        raise PipelineError(f"unknown inference engine {name!r}", where=where,
                            fix=f"use one of: {', '.join(CHOICES)}")
    if name == "auto":
        if use_gpu:
            return "paddle"
        return next(e for e in CPU_PREFERENCE
                    if e == "paddle" or (installed(e) and has_files(e, model_dir)))
    if not installed(name):
        raise PipelineError(f"the {name} engine is not installed", where=where,
                            fix="pip install --no-deps -r requirements.lock, or use engine auto")
    for file in model_files(name):
        if not (Path(model_dir) / file).is_file():
            raise PipelineError(f"the {name} engine needs {file}, which this folder lacks",
                                where=str(Path(model_dir) / file),
                                fix="re-run the export stage (dvc repro export), which writes it, "
                                    "or use engine paddle")
    return name


class PaddleEngine:
    name = "paddle"

    def __init__(self, model_dir, cpu_threads=1, enable_mkldnn=True, use_gpu=False):
        from paddle import inference

        legacy = (Path(model_dir) / MODEL_FILE).is_file()
        # A folder saved by a process in Paddle's PIR mode (training) holds inference.json.
        program = Path(model_dir) / (MODEL_FILE if legacy else PIR_MODEL_FILE)
        config = inference.Config(str(program), str(Path(model_dir) / PARAMS_FILE))
        if use_gpu:
            config.enable_use_gpu(500, 0)
        else:
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(cpu_threads)
            if enable_mkldnn:
                # A bounded cache of compiled shapes: each new batch width costs a compile.
                config.set_mkldnn_cache_capacity(10)
                config.enable_mkldnn()
        if legacy:
            # Paddle 3.3's PIR predictor fails to build with it (memory_optimize_pass).
            config.enable_memory_optim()
        config.disable_glog_info()
        config.switch_use_feed_fetch_ops(False)
        config.switch_ir_optim(True)
        self.predictor = inference.create_predictor(config)
        self.input = self.predictor.get_input_handle(self.predictor.get_input_names()[0])
        self.output = self.predictor.get_output_handle(self.predictor.get_output_names()[0])

    def run(self, batch):
        self.input.reshape(batch.shape)
        self.input.copy_from_cpu(batch)
        self.predictor.run()
        return self.output.copy_to_cpu()


class OnnxRuntimeEngine:
    name = "onnxruntime"

    def __init__(self, model_dir, cpu_threads=1, enable_mkldnn=True, use_gpu=False):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = cpu_threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(Path(model_dir) / ONNX_FILE), options,
                                                    providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def run(self, batch):
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch)})[0]


class OpenVINOEngine:
    name = "openvino"

    def __init__(self, model_dir, cpu_threads=1, enable_mkldnn=True, use_gpu=False):
        import openvino

        core = openvino.Core()
        # f32: on CPUs with bf16 or AMX units OpenVINO would otherwise compute in bf16 and move
        # the probabilities by ~1e-2. LATENCY: one request at a time, as LinePredictor sends.
        self.compiled = core.compile_model(str(Path(model_dir) / ONNX_FILE), "CPU", {
            "INFERENCE_NUM_THREADS": cpu_threads, "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False})
        self.request = self.compiled.create_infer_request()

    def run(self, batch):
        self.request.infer({0: np.ascontiguousarray(batch)})
        # A copy: the request reuses its output buffer for the next batch.
        return np.array(self.request.get_output_tensor(0).data, copy=True)


CLASSES = {"paddle": PaddleEngine, "onnxruntime": OnnxRuntimeEngine, "openvino": OpenVINOEngine}


def create_engine(name, model_dir, cpu_threads=1, enable_mkldnn=True, use_gpu=False):
    """An engine object for a resolved name (see ``resolve``)."""
    return CLASSES[name](model_dir, cpu_threads, enable_mkldnn, use_gpu)
