"""PaddleOCR's learning-rate schedule: cosine decay per step, after a linear warm-up."""

import paddle


def cosine_with_warmup(base_lr, total_steps, warmup_steps):
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(learning_rate=base_lr,
                                                        T_max=max(total_steps, 1))
    if warmup_steps > 0:
        schedule = paddle.optimizer.lr.LinearWarmup(learning_rate=schedule,
                                                    warmup_steps=warmup_steps,
                                                    start_lr=0.0, end_lr=base_lr)
    return schedule
