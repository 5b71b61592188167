"""Learning a domain without forgetting general reading: the means a fine-tune has, each a
setting of ``train_<m>.retain`` (measured side by side in the README).

- replay: ``replay_per_batch`` general lines (``replay.dir``) join every batch; with
  ``replay_labels`` the CTC loss also trains on their labels, so it keeps paying for general
  reading (but it also teaches the replay labels' conventions, e.g. full-width forms);
- distillation: ``distill_weight`` x the KL divergence from the frozen start model's per-step
  distributions to the model's, on those replay lines: it keeps how the start reads them
  (its conventions included) without needing their labels;
- interpolation: after the last step, the weights ``start + alpha (tuned - start)`` for each
  ``alpha`` of ``interpolate`` are scored on val and the guard; the best that respects the
  guard becomes best/ (WiSE-FT, Wortsman et al., 2022).

The guard (``guard.dir``) is a set of trusted general crops scored at every evaluation; a
checkpoint that reads it more than ``guard.max_drop`` below the start is never kept as best/.
"""

from dataclasses import dataclass, field

import numpy as np
import paddle


@dataclass(frozen=True)
class Retention:
    replay_per_batch: int = 0
    distill_weight: float = 0.0
    replay_labels: bool = False
    interpolate: tuple = ()
    # Folders, or "" for none.
    replay_dir: str = ""
    guard_dir: str = ""
    # None: the guard is scored but refuses nothing.
    guard_max_drop: object = None
    extra: dict = field(default_factory=dict)

    @property
    def replays(self):
        return self.replay_per_batch > 0

    @property
    def distils(self):
        return self.replays and self.distill_weight > 0


class ReplayBatches:
    """The replay lines of each step: a draw seeded by (seed, step), so a resumed run replays the
    same lines, each augmented as the dataset seeds it (its epoch set to the step)."""

    def __init__(self, dataset, per_batch, seed):
        self.dataset = dataset
        self.per_batch = per_batch
        self.seed = seed

    def batch(self, step):
        rng = np.random.default_rng([self.seed, 7, step])
        picks = rng.choice(len(self.dataset), size=self.per_batch,
                           replace=len(self.dataset) < self.per_batch)
        self.dataset.epoch = step
        images, labels, lengths = zip(*(self.dataset[int(i)] for i in picks))
        return (paddle.to_tensor(np.stack(images)), paddle.to_tensor(np.stack(labels)),
                paddle.to_tensor(np.array(lengths, dtype=np.int64)))


def distillation_loss(student_logits, teacher_probabilities):
    """KL(teacher || student) summed over a line's time steps, averaged over lines (the CTC
    loss is per line too, so ``distill_weight`` 1 weighs a line's two losses alike); the
    student is given as logits."""
    logits = student_logits.astype("float32")
    # Not F.log_softmax: Paddle's CPU kernel took 1.5 s forward and 1.5 s backward on a batch of
    # 8 lines x 40 steps x 8,053 classes (a frozen-backbone step without replay takes 0.44 s);
    # logsumexp gives the same values in 0.05 s.
    log_student = logits - paddle.logsumexp(logits, axis=-1, keepdim=True)
    teacher = teacher_probabilities.astype("float32")
    kl = (teacher * (paddle.log(teacher.clip(min=1e-8)) - log_student)).sum(axis=-1)
    return kl.sum(axis=-1).mean()


def frozen_teacher(model):
    model.eval()
    for parameter in model.parameters():
        parameter.stop_gradient = True
    return model


def interpolated(start_state, tuned_state, alpha):
    """``start + alpha (tuned - start)`` for floating-point tensors; others from ``tuned``."""
    mixed = {}
    for name, tuned in tuned_state.items():
        start = start_state[name]
        if paddle.is_floating_point(tuned):
            mixed[name] = start + alpha * (tuned - start)
        else:
            mixed[name] = tuned
    return mixed


def guard_allows(guard_acc, start_guard_acc, max_drop):
    """Whether a checkpoint's guard accuracy is within ``max_drop`` of its start's."""
    if guard_acc is None or start_guard_acc is None or max_drop is None:
        return True
    return guard_acc >= start_guard_acc - max_drop - 1e-9


def better(candidate, incumbent):
    """Val acc first, then val 1 - NED, then guard acc: the ordering best/ is chosen by."""
    key = lambda r: (r["acc"], r["norm_edit_dis"], r.get("guard_acc") or 0.0)
    return incumbent is None or key(candidate) > key(incumbent)
