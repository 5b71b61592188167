"""The training loop: Adam + cosine/warm-up + L2, periodic evaluation, resumable checkpoints,
DVCLive logging. Runs on CPU, one GPU, or several through paddle.distributed.launch.

A run is identified by its fingerprint (config.py). ``latest/`` is resumed only when it carries
the same one; otherwise the run starts afresh, says so, and replaces ``latest/`` and ``best/``
as it writes its own (the old ``best/`` stays usable until then).
"""

import os
import random
import time
from pathlib import Path

import numpy as np
import paddle

from linerec.atomic import write_text
from linerec.charset import read_dictionary
from linerec.data.dataset import LineDataset, read_label_file
from linerec.decoding import ctc_decoder
from linerec.errors import PipelineError
from linerec.model_store import model_info
from linerec.modeling.losses.rec_ctc_loss import CTCLoss
from linerec.training import checkpoint
from linerec.training import retention as retain
from linerec.training.config import folder_samples
from linerec.training.evaluation import ValidationSet, evaluate
from linerec.training.live_log import open_live
from linerec.training.sampler import ResumableBatchSampler
from linerec.training.schedule import cosine_with_warmup

RUN_DICT = "dict.txt"


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

        self.family = cfg.family()
        self.fingerprint = cfg.fingerprint(self.family)
        found = checkpoint.read_state(self.model_dir / "latest")
        self.previous = found if found and found.get("fingerprint") == self.fingerprint else None
        self.stale_latest = found is not None and self.previous is None
        self.dict_file = self._run_dictionary()
        self.characters = read_dictionary(self.dict_file)
        self.classes = self.family.classes(self.characters)

        self.train_set = LineDataset(cfg.train_file, self.dict_file, self.family.image_shape,
                                     cfg.max_text_length, cfg.use_space_char,
                                     augment=cfg.augment, seed=cfg.seed)
        self.val_set = ValidationSet(cfg.val_file)
        self.retention = cfg.retention
        self.guard_set = (ValidationSet(cfg.retention.guard_dir,
                                        folder_samples(cfg.retention.guard_dir, "guard.dir"))
                          if cfg.retention.guard_dir else None)
        self.sampler = ResumableBatchSampler(len(self.train_set), cfg.batch_size, cfg.seed,
                                             rank=self.rank, world_size=self.world_size)
        self.steps_per_epoch = self.sampler.batches_per_epoch()
        if self.steps_per_epoch == 0:
            raise PipelineError(
                f"batch_size {cfg.batch_size} x {self.world_size} device(s) is larger than the "
                f"{len(self.train_set)} training lines",
                where=f"params.yaml: train_{cfg.name}.batch_size", fix="lower the batch size")
        self.total_steps = cfg.max_steps or cfg.epochs * self.steps_per_epoch
        self.info = model_info(self.family, len(self.classes), cfg.max_text_length, cfg.name)

        if self.previous:
            self.model = self.family.build(len(self.classes))
        else:
            self.model = self.family.start(self.classes, log=self.log)
        self.loss_fn = CTCLoss()
        self.replay = self._replay_batches()
        self.teacher = None
        if self.retention.distils:
            if not self.family.starts_pretrained:
                raise PipelineError("distillation keeps what a pretrained start reads, and this "
                                    "model starts from scratch",
                                    where=f"params.yaml: train_{cfg.name}.retain.distill_weight",
                                    fix="set distill_weight to 0 for a model trained from scratch")
            self.teacher = retain.frozen_teacher(self.family.start(self.classes, log=lambda _: None))
        self.schedule = cosine_with_warmup(cfg.lr, self.total_steps,
                                           int(round(cfg.warmup_epochs * self.steps_per_epoch)))
        self.optimizer = paddle.optimizer.Adam(
            learning_rate=self.schedule, beta1=0.9, beta2=0.999,
            parameters=[p for p in self.model.parameters() if not p.stop_gradient],
            weight_decay=paddle.regularizer.L2Decay(cfg.l2) if cfg.l2 > 0 else None,
            grad_clip=paddle.nn.ClipGradByGlobalNorm(cfg.grad_clip) if cfg.grad_clip > 0 else None)
        amp = self.device_is_gpu if cfg.amp == "auto" else cfg.amp
        self.scaler = paddle.amp.GradScaler() if amp and self.device_is_gpu else None
        # Reading and augmenting is ~1 ms of a ~300 ms CPU step, and a worker process would take
        # a core from training; a GPU step is short enough for reading to matter.
        self.num_workers = cfg.num_workers if cfg.num_workers != "auto" else (
            min(8, os.cpu_count() or 1) if self.device_is_gpu else 0)
        self.decoder = ctc_decoder(self.dict_file, cfg.use_space_char)
        self.eval_batch_size = cfg.eval_batch_size or max(cfg.batch_size, 32)
        self.state = self._load_or_start()
        self.trained = self.model
        if self.world_size > 1:
            self.trained = paddle.DataParallel(self.model)

    def _replay_batches(self):
        if not self.retention.replays:
            return None
        dataset = LineDataset(self.retention.replay_dir, self.dict_file, self.family.image_shape,
                              self.cfg.max_text_length, self.cfg.use_space_char,
                              augment=self.cfg.augment, seed=self.cfg.seed,
                              samples=folder_samples(self.retention.replay_dir, "replay.dir"))
        self.log(f"replaying {self.retention.replay_per_batch} of {len(dataset)} general lines "
                 f"from {self.retention.replay_dir} in every batch ({dataset.dropped} not "
                 "encodable)" + (f", distilled from the start model x "
                                 f"{self.retention.distill_weight:g}" if self.retention.distils else ""))
        return retain.ReplayBatches(dataset, self.retention.replay_per_batch, self.cfg.seed)

    @property
    def device_is_gpu(self):
        return "gpu" in str(self.device).lower()

    @property
    def is_main(self):
        return self.rank == 0

    def _run_dictionary(self):
        """The dictionary file of this run: the resumed checkpoint's, or the family's rule
        applied to the split's dictionary and training labels."""
        if self.previous:
            return self.model_dir / "latest" / checkpoint.DICT_FILE
        label_chars = list(dict.fromkeys(c for _, label in read_label_file(self.cfg.train_file)
                                         for c in label))
        characters = self.family.characters(read_dictionary(self.cfg.dict_file), label_chars)
        path = self.model_dir / RUN_DICT
        if self.is_main:
            write_text(path, "".join(c + "\n" for c in characters))
        if self.world_size > 1:
            paddle.distributed.barrier()
        return path

    def _load_or_start(self):
        latest = self.model_dir / "latest"
        if self.previous:
            checkpoint.load_weights(latest, self.model)
            checkpoint.load_optimizer(latest, self.optimizer)
            self.log(f"resuming {self.cfg.name} from {latest} at step {self.previous['step']}"
                     f"/{self.total_steps} (epoch {self.previous['epoch']})")
            return self.previous
        return {"fingerprint": self.fingerprint, "step": 0, "epoch": 0, "batch_in_epoch": 0,
                "best_acc": -1.0, "best_norm_edit_dis": -1.0, "best_guard_acc": None,
                "best_step": 0, "start_guard_acc": None,
                "total_steps": self.total_steps, "evaluations": 0}

    def _loss(self, images, labels, lengths, replayed):
        logits = self.trained(images)
        # Replay lines without their labels are there for distillation alone.
        logits_with_labels = logits[:labels.shape[0]]
        loss = self.loss_fn(logits_with_labels, labels, lengths)
        if self.teacher is not None:
            with paddle.no_grad():
                target = self.teacher(images[-replayed:])
            loss = loss + self.retention.distill_weight * retain.distillation_loss(
                logits[-replayed:], target)
        return loss, logits_with_labels

    def _train_step(self, images, labels, lengths):
        replayed = 0
        if self.replay is not None:
            extra_images, extra_labels, extra_lengths = self.replay.batch(self.state["step"])
            images = paddle.concat([images, extra_images])
            if self.retention.replay_labels:
                labels = paddle.concat([labels, extra_labels])
                lengths = paddle.concat([lengths, extra_lengths])
            replayed = self.replay.per_batch
        if self.scaler is not None:
            with paddle.amp.auto_cast():
                loss, logits = self._loss(images, labels, lengths, replayed)
            self.scaler.scale(loss).backward()
            self.scaler.minimize(self.optimizer, loss)
        else:
            loss, logits = self._loss(images, labels, lengths, replayed)
            loss.backward()
            self.optimizer.step()
        self.optimizer.clear_grad()
        self.schedule.step()
        return float(loss), logits, labels, lengths

    def _batch_accuracy(self, logits, labels, lengths):
        probabilities = paddle.nn.functional.softmax(logits, -1).numpy()
        predictions = [text for text, _ in self.decoder(probabilities)]
        targets = ["".join(self.classes[i] for i in row[:n])
                   for row, n in zip(labels.numpy(), lengths.numpy())]
        return float(np.mean([p.replace(" ", "") == t.replace(" ", "")
                              for p, t in zip(predictions, targets)]))

    def _score(self):
        """Val acc and 1 - NED of the model as it is, with its guard accuracy (None: no guard)."""
        metric, _, _ = evaluate(self.model, self.val_set, self.family.image_shape,
                                self.eval_batch_size, self.decoder)
        result = metric.result()
        result["guard_acc"] = None
        if self.guard_set is not None:
            guard, _, _ = evaluate(self.model, self.guard_set, self.family.image_shape,
                                   self.eval_batch_size, self.decoder)
            result["guard_acc"] = guard.result()["acc"]
        return result

    def _best_so_far(self):
        state = self.state
        return {"acc": state["best_acc"], "norm_edit_dis": state["best_norm_edit_dis"],
                "guard_acc": state.get("best_guard_acc")}

    def _best_summary(self):
        """What dvclive's summary says of best/: its scores, step and interpolation mix."""
        summary = {**self._best_so_far(), "step": self.state["best_step"]}
        if "interpolation" in self.state:
            summary["alpha"] = self.state.get("best_alpha")
        return summary

    @staticmethod
    def _guard_note(result):
        return "" if result["guard_acc"] is None else f", guard acc {result['guard_acc']:.4f}"

    def _consider_for_best(self, result, what):
        """Saves the model as best/ if it beats best/ and the guard allows it; says why not."""
        state = self.state
        allowed = retain.guard_allows(result["guard_acc"], state.get("start_guard_acc"),
                                      self.retention.guard_max_drop)
        if not allowed:
            self.log(f"{what}: guard acc {result['guard_acc']:.4f} is more than guard.max_drop "
                     f"{self.retention.guard_max_drop:g} below the start's "
                     f"{state['start_guard_acc']:.4f}: not kept as best/")
            return False
        if not retain.better(result, self._best_so_far()):
            return False
        state.update(best_acc=result["acc"], best_norm_edit_dis=result["norm_edit_dis"],
                     best_guard_acc=result["guard_acc"], best_step=state["step"])
        checkpoint.save(self.model_dir / "best", self.model, None, dict(state), self.info,
                        self.dict_file)
        return True

    def _evaluate_and_checkpoint(self, live):
        result = self._score()
        state = self.state
        if state.get("evaluations", 0) == 0 and self.family.starts_pretrained:
            # What the pretrained start reads of the guard: the bar a fine-tune must stay near.
            state["start_guard_acc"] = result["guard_acc"]
        state["evaluations"] = state.get("evaluations", 0) + 1
        self._consider_for_best(result, f"step {state['step']}")
        checkpoint.save(self.model_dir / "latest", self.model, self.optimizer, dict(state),
                        self.info, self.dict_file)
        live.log_metric("eval/acc", result["acc"])
        live.log_metric("eval/norm_edit_dis", result["norm_edit_dis"])
        if result["guard_acc"] is not None:
            live.log_metric("eval/guard_acc", result["guard_acc"])
        live.summary["best"] = self._best_summary()
        self.log(f"step {state['step']}: val acc {result['acc']:.4f}, "
                 f"1-NED {result['norm_edit_dis']:.4f}{self._guard_note(result)} (best acc {state['best_acc']:.4f} "
                 f"at step {state['best_step']})")

    def _interpolate(self):
        """WiSE-FT over the last weights: each mix of ``retain.interpolate`` is scored and the
        best one that the guard allows replaces best/ if it beats it."""
        state = self.state
        tuned = {name: value.clone() for name, value in self.model.state_dict().items()}
        start = self.family.start(self.classes, log=lambda _: None).state_dict()
        # In the state from the first mix on, so best/ records what was tried before it.
        tried = state["interpolation"] = []
        for alpha in self.retention.interpolate:
            self.model.set_state_dict(retain.interpolated(start, tuned, alpha))
            result = self._score()
            tried.append({"alpha": alpha, **result})
            self.log(f"interpolation {alpha:g} of the way to the last weights: val acc "
                     f"{result['acc']:.4f}, 1-NED {result['norm_edit_dis']:.4f}"
                     f"{self._guard_note(result)}")
            if self._consider_for_best(result, f"interpolation {alpha:g}"):
                state["best_alpha"] = alpha
        self.model.set_state_dict(tuned)
        # latest/ says the interpolation is done: a resumed run that finds it does not redo it.
        checkpoint.save(self.model_dir / "latest", self.model, self.optimizer, dict(state),
                        self.info, self.dict_file)

    def run(self, progress=True):
        from tqdm import tqdm

        cfg, state = self.cfg, self.state
        if self.stale_latest:
            self.log(f"starting {cfg.name} afresh at step 0: {self.model_dir / 'latest'} was "
                     "made by other code, params or data (its fingerprint differs); the old "
                     "best/ stays until this run writes its own")
        live = open_live(self.live_dir, resume_step=state["step"]) if self.is_main else None
        self.log(f"training {cfg.name} ({self.family.name}): {len(self.train_set)} train lines "
                 f"({self.train_set.dropped} not encodable) / {len(self.val_set)} val lines "
                 f"({self.val_set.not_expressible(self.classes)} not expressible), "
                 f"{len(self.classes)} classes, {self.total_steps} steps of batch "
                 f"{cfg.batch_size} on {self.device}")
        bar = tqdm(total=self.total_steps, initial=state["step"], disable=not (progress and self.is_main),
                   desc=f"train_{cfg.name}", mininterval=2.0, dynamic_ncols=True)
        if self.is_main and self.family.starts_pretrained and state.get("evaluations", 0) == 0:
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
            self.train_set.epoch = state["epoch"]
            loader = paddle.io.DataLoader(self.train_set, batch_sampler=self.sampler,
                                          num_workers=self.num_workers)
            tick = time.perf_counter()
            for images, labels, lengths in loader:
                read_done = time.perf_counter()
                loss, logits, labels, lengths = self._train_step(images, labels, lengths)
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
                    images_per_s = (window_steps * (cfg.batch_size + self.retention.replay_per_batch)
                                    * self.world_size / max(batch_cost, 1e-9))
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
        if self.is_main and self.retention.interpolate and "interpolation" not in state:
            self._interpolate()
            live.summary["best"] = self._best_summary()
            live.summary["interpolation"] = state["interpolation"]
            live.make_summary()
        if live is not None:
            live.end()
        return state
