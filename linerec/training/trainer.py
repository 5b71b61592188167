"""The training loop: Adam + cosine/warm-up + L2, periodic evaluation, resumable checkpoints,
DVCLive logging. Runs on CPU, one GPU, or several through paddle.distributed.launch."""

import random
import shutil
import time
from pathlib import Path

import numpy as np
import paddle

from linerec.charset import ctc_classes, read_dictionary
from linerec.data.dataset import LineDataset
from linerec.errors import PipelineError
from linerec.model_store import build_model, is_program_model, write_model_info
from linerec.modeling import ppocrv4
from linerec.modeling.losses.rec_ctc_loss import CTCLoss
from linerec.modeling.pretrained import load_pretrained
from linerec.training import checkpoint
from linerec.decoding import ctc_decoder
from linerec.training.evaluation import evaluate
from linerec.training.live_log import open_live
from linerec.training.sampler import ResumableBatchSampler
from linerec.training.schedule import cosine_with_warmup

def select_device():
    if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        return paddle.set_device(f"gpu:{paddle.distributed.ParallelEnv().dev_id}")
    return paddle.set_device("cpu")


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


class Trainer:
    def __init__(self, cfg, model_dir, live_dir, log=print):
        self.cfg = cfg
        self.model_dir = Path(model_dir)
        self.live_dir = Path(live_dir)
        self.log = log
        self.device = select_device()
        self.world_size = paddle.distributed.get_world_size()
        self.rank = paddle.distributed.get_rank()
        if self.world_size > 1:
            paddle.distributed.init_parallel_env()
        seed_everything(cfg.seed)

        self.fingerprint = cfg.fingerprint()
        previous = self._resumable_state()
        self.starts_pretrained = is_program_model(cfg.model) or bool(cfg.pretrained_model)
        self.dict_file = self._prepare_model_files(resuming=previous is not None)
        self.classes = ctc_classes(read_dictionary(self.dict_file), cfg.use_space_char)
        dataset_args = dict(dict_path=self.dict_file, image_shape=cfg.image_shape,
                            max_text_length=cfg.max_text_length,
                            use_space_char=cfg.use_space_char)
        self.train_set = LineDataset(cfg.train_file, augment=cfg.augment, **dataset_args)
        self.val_set = LineDataset(cfg.val_file, augment=False, **dataset_args)
        self.sampler = ResumableBatchSampler(len(self.train_set), cfg.batch_size, cfg.seed,
                                             rank=self.rank, world_size=self.world_size)
        self.steps_per_epoch = self.sampler.batches_per_epoch()
        if self.steps_per_epoch == 0:
            raise PipelineError(
                f"batch_size {cfg.batch_size} x {self.world_size} device(s) is larger than the "
                f"{len(self.train_set)} training lines",
                where=f"params.yaml: train_{cfg.name}.batch_size", fix="lower the batch size")
        self.total_steps = cfg.max_steps or cfg.epochs * self.steps_per_epoch

        self.model = build_model(cfg.model, len(self.classes), self.model_dir)
        self.loss_fn = CTCLoss()
        self.schedule = cosine_with_warmup(cfg.lr, self.total_steps,
                                           int(round(cfg.warmup_epochs * self.steps_per_epoch)))
        self.optimizer = paddle.optimizer.Adam(
            learning_rate=self.schedule, beta1=0.9, beta2=0.999,
            # A loaded program lists batch-norm statistics among its parameters, frozen.
            parameters=[p for p in self.model.parameters() if not p.stop_gradient],
            weight_decay=paddle.regularizer.L2Decay(cfg.l2) if cfg.l2 > 0 else None)
        self.scaler = paddle.amp.GradScaler() if cfg.amp and self.device_is_gpu else None
        self.decoder = ctc_decoder(self.dict_file, cfg.use_space_char)
        eval_batch_size = cfg.eval_batch_size or max(cfg.batch_size, 32)
        self.val_loader = paddle.io.DataLoader(self.val_set, batch_size=eval_batch_size,
                                               shuffle=False, drop_last=False,
                                               num_workers=cfg.num_workers)
        self.state = self._load_or_start(previous)
        self.trained = self.model
        if self.world_size > 1:
            self.trained = paddle.DataParallel(self.model)

    @property
    def device_is_gpu(self):
        return "gpu" in str(self.device).lower()

    @property
    def is_main(self):
        return self.rank == 0

    def _resumable_state(self):
        """The state of models/<name>/latest if it was made by this very run; otherwise None,
        and the folder is cleared so that nothing of another run is mixed in."""
        latest = self.model_dir / "latest"
        state = checkpoint.read_state(latest)
        if state and state.get("fingerprint") == self.fingerprint:
            return state
        if state:
            self.log(f"{latest} was trained with other params or data: starting afresh")
        if self.is_main and self.model_dir.exists():
            shutil.rmtree(self.model_dir)
            shutil.rmtree(self.live_dir, ignore_errors=True)
        return None

    def _prepare_model_files(self, resuming):
        """Returns the dictionary the model is trained with. A resumed run keeps the base/ its
        checkpoint was trained on."""
        if not is_program_model(self.cfg.model):
            return self.cfg.dict_file
        base_dict = self.model_dir / ppocrv4.BASE_DIR / ppocrv4.DICT_FILE
        if resuming and base_dict.exists():
            return base_dict
        if self.is_main:
            ppocrv4.prepare_base(self.model_dir, self.cfg.train_file, self.cfg.model,
                                 self.cfg.use_space_char, log=self.log,
                                 where=f"params.yaml: train_{self.cfg.name}.model")
        if self.world_size > 1:
            paddle.distributed.barrier()
        return base_dict

    def _load_or_start(self, previous):
        latest = self.model_dir / "latest"
        if previous:
            checkpoint.load_weights(latest, self.model)
            checkpoint.load_optimizer(latest, self.optimizer)
            self.log(f"resuming {self.cfg.name} from {latest} at step {previous['step']}"
                     f"/{self.total_steps} (epoch {previous['epoch']})")
            return previous
        if self.cfg.pretrained_model:
            report = load_pretrained(self.model, self.cfg.pretrained_model)
            self.log(str(report))
        return {"fingerprint": self.fingerprint, "step": 0, "epoch": 0, "batch_in_epoch": 0,
                "best_acc": -1.0, "best_norm_edit_dis": -1.0, "best_step": 0,
                "total_steps": self.total_steps, "evaluations": 0}

    def _worker_init(self, worker_id):
        # Augmentation draws from Python's and NumPy's global generators inside each worker.
        seed = (self.cfg.seed * 1_000_003 + self.state["epoch"] * 1009 + worker_id) % 2**32
        random.seed(seed)
        np.random.seed(seed)

    def _train_step(self, images, labels, lengths):
        if self.scaler is not None:
            with paddle.amp.auto_cast():
                logits = self.trained(images)
                loss = self.loss_fn(logits, labels, lengths)
            self.scaler.scale(loss).backward()
            self.scaler.minimize(self.optimizer, loss)
        else:
            logits = self.trained(images)
            loss = self.loss_fn(logits, labels, lengths)
            loss.backward()
            self.optimizer.step()
        self.optimizer.clear_grad()
        self.schedule.step()
        return float(loss), logits

    def _batch_accuracy(self, logits, labels, lengths):
        predictions = [text for text, _ in self.decoder(paddle.nn.functional.softmax(logits, -1).numpy())]
        targets = ["".join(self.classes[i] for i in row[:n])
                   for row, n in zip(labels.numpy(), lengths.numpy())]
        return float(np.mean([p.replace(" ", "") == t.replace(" ", "")
                              for p, t in zip(predictions, targets)]))

    def _evaluate_and_checkpoint(self, live):
        metric, _, _ = evaluate(self.model, self.val_loader, self.val_set.targets, self.decoder)
        result = metric.result()
        state = self.state
        state["evaluations"] = state.get("evaluations", 0) + 1
        improved = result["acc"] > state["best_acc"] or (
            result["acc"] == state["best_acc"] and result["norm_edit_dis"] > state["best_norm_edit_dis"])
        if improved:
            state.update(best_acc=result["acc"], best_norm_edit_dis=result["norm_edit_dis"],
                         best_step=state["step"])
            checkpoint.save(self.model_dir / "best", self.model, None, dict(state))
        checkpoint.save(self.model_dir / "latest", self.model, self.optimizer, dict(state))
        live.log_metric("eval/acc", result["acc"])
        live.log_metric("eval/norm_edit_dis", result["norm_edit_dis"])
        live.summary["best"] = {"acc": state["best_acc"],
                                "norm_edit_dis": state["best_norm_edit_dis"],
                                "step": state["best_step"]}
        self.log(f"step {state['step']}: val acc {result['acc']:.4f}, "
                 f"1-NED {result['norm_edit_dis']:.4f} (best acc {state['best_acc']:.4f} "
                 f"at step {state['best_step']})")

    def write_model_info(self):
        write_model_info(
            self.model_dir, self.dict_file, name=self.cfg.name, model=self.cfg.model,
            num_classes=len(self.classes),
            algorithm=ppocrv4.ALGORITHM if is_program_model(self.cfg.model) else "CRNN",
            image_shape=self.cfg.image_shape, use_space_char=self.cfg.use_space_char,
            max_text_length=self.cfg.max_text_length)

    def run(self, progress=True):
        from tqdm import tqdm

        cfg, state = self.cfg, self.state
        if self.is_main:
            self.write_model_info()
        live = open_live(self.live_dir, resume_step=state["step"]) if self.is_main else None
        self.log(f"training {cfg.name}: {len(self.train_set)} train / {len(self.val_set)} val "
                 f"lines ({self.train_set.dropped} + {self.val_set.dropped} not encodable), "
                 f"{len(self.classes)} classes, {self.total_steps} steps of batch "
                 f"{cfg.batch_size} on {self.device}")
        bar = tqdm(total=self.total_steps, initial=state["step"], disable=not (progress and self.is_main),
                   desc=f"train_{cfg.name}", mininterval=2.0, dynamic_ncols=True)
        if self.is_main and self.starts_pretrained and state.get("evaluations", 0) == 0:
            # A pretrained start has a score of its own: step 0 of the curve, and the bar the
            # fine-tuned weights must clear to become best/.
            live.step = 0
            self._evaluate_and_checkpoint(live)
            live.make_summary()
        reader_cost = batch_cost = 0.0
        window_steps = 0
        self.model.train()
        while state["step"] < self.total_steps:
            self.sampler.set_position(state["epoch"], state["batch_in_epoch"])
            loader = paddle.io.DataLoader(self.train_set, batch_sampler=self.sampler,
                                          num_workers=cfg.num_workers,
                                          worker_init_fn=self._worker_init if cfg.num_workers else None)
            tick = time.perf_counter()
            for images, labels, lengths in loader:
                read_done = time.perf_counter()
                loss, logits = self._train_step(images, labels, lengths)
                state["step"] += 1
                state["batch_in_epoch"] += 1
                if state["batch_in_epoch"] >= self.steps_per_epoch:
                    state["epoch"] += 1
                    state["batch_in_epoch"] = 0
                now = time.perf_counter()
                reader_cost += read_done - tick
                batch_cost += now - tick
                window_steps += 1
                tick = now
                bar.update(1)
                step = state["step"]
                if self.is_main and (step % cfg.log_every_steps == 0 or step == self.total_steps):
                    images_per_s = window_steps * cfg.batch_size * self.world_size / max(batch_cost, 1e-9)
                    live.step = step
                    live.log_metric("train/loss", loss)
                    live.log_metric("train/acc", self._batch_accuracy(logits, labels, lengths))
                    live.log_metric("train/lr", self.optimizer.get_lr())
                    live.log_metric("train/reader_cost_s", reader_cost / window_steps)
                    live.log_metric("train/batch_cost_s", batch_cost / window_steps)
                    live.log_metric("train/ips", images_per_s)
                    bar.set_postfix(loss=f"{loss:.3f}", lr=f"{self.optimizer.get_lr():.2e}",
                                    ips=f"{images_per_s:.1f}")
                    reader_cost = batch_cost = 0.0
                    window_steps = 0
                if self.is_main and (step % cfg.eval_every_steps == 0 or step == self.total_steps):
                    live.step = step
                    self._evaluate_and_checkpoint(live)
                    live.make_summary()
                    tick = time.perf_counter()
                if step >= self.total_steps or state["batch_in_epoch"] == 0:
                    break
        bar.close()
        if live is not None:
            live.end()
        return state
