"""Training loop shared by all architectures: AdamW, warmup + linear decay, clipping, bf16 on GPU."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .alignment import Doc
from .archs.base import JointModel

logger = logging.getLogger(__name__)


class TrainingCancelled(Exception):
    """Raised when ``should_stop()`` returned True during training."""


@dataclass
class TrainConfig:
    """Optimisation hyperparameters (stored in the checkpoint)."""

    epochs: int = 3
    # Raise ``epochs`` so that training takes at least this many optimizer steps (0: exactly ``epochs``).
    # Three epochs suit thousands of sentences, not a new project's first fifty: on the demo's 72 gold
    # sentences at batch 8 (27 steps) span.v1 predicted no entity at all on its frozen split; 90 steps gave
    # 10.4 / 0.0 entity / relation F1, 180 steps 55.9 / 36.6. The worker sets it (TRIALMARK_MIN_TRAIN_STEPS).
    min_steps: int = 0
    batch_size: int = 8
    lr: float = 2e-4  # encoder (bench: 2e-4 beat 1e-4 on Chia dev, 63.6/32.9 vs 63.1/32.5 F1)
    head_lr: float = 1e-3  # task heads and embeddings (randomly initialised)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    seed: int = 42
    eval_batch_size: int = 16
    length_bucketing: bool = True  # batches of similar length (less padding), in random order
    select_best: bool = True  # keep the epoch with the best dev relation F1 (ties: entity F1)
    relation_warmup_epochs: float = 0.0  # ramp relation-loss weight 0 -> 1 over this many epochs
    # After training, thresholds are chosen on dev from these grids: span.v1's entity threshold by entity
    # F1, then the relation threshold of a sigmoid relation head (span.v1, deep.v1) by relation F1. Kept
    # as configured when dev holds fewer gold mentions / relations than the minimum: on a few dozen
    # sentences the choice is noise (tuned on a 50-sentence slice, bench/active_learning.py curves jumped
    # by several points from round to round).
    tune_ent_threshold: bool = True
    ent_threshold_grid: tuple[float, ...] = (0.0, 0.5, 0.6, 0.7)
    ent_threshold_min_mentions: int = 300
    tune_rel_threshold: bool = True
    rel_threshold_grid: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    rel_threshold_min_relations: int = 200
    bf16: bool = True  # autocast on CUDA only


def epochs_for(n: int, epochs: int, batch_size: int, min_steps: int) -> int:
    """``epochs``, raised so that ``n`` training sentences at ``batch_size`` give at least ``min_steps``
    optimizer steps (``TrainConfig.min_steps``; 0 or less: ``epochs`` as they are)."""
    steps_per_epoch = max(1, math.ceil(n / batch_size))
    return max(epochs, math.ceil(min_steps / steps_per_epoch)) if min_steps > 0 else epochs


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def make_batches(docs: list[Doc], batch_size: int, rng: random.Random, bucketing: bool) -> list[list[int]]:
    """Index batches: shuffled; with bucketing, sorted by length inside pools of 50 batches."""
    idx = list(range(len(docs)))
    rng.shuffle(idx)
    if bucketing:
        pool = batch_size * 50
        out = []
        for p in range(0, len(idx), pool):
            chunk = sorted(idx[p : p + pool], key=lambda i: len(docs[i].wp_ids))
            out += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        rng.shuffle(out)
        return out
    return [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]


def _param_groups(model: JointModel, cfg: TrainConfig) -> list[dict[str, Any]]:
    groups: dict[tuple[bool, bool], list] = {(e, d): [] for e in (True, False) for d in (True, False)}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        is_enc = name.startswith("encoder.")
        no_decay = p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name
        groups[(is_enc, not no_decay)].append(p)
    out = []
    for (is_enc, decay), params in groups.items():
        if params:
            out.append(
                {
                    "params": params,
                    "lr": cfg.lr if is_enc else cfg.head_lr,
                    "weight_decay": cfg.weight_decay if decay else 0.0,
                }
            )
    return out


def _adamw(groups: list[dict[str, Any]], device: torch.device) -> torch.optim.Optimizer:
    # The fused kernel is ~4x faster than the default loop on CPU (the optimizer step is a large share of
    # a step for a 22M-parameter encoder); fall back where a build lacks it.
    try:
        return torch.optim.AdamW(groups, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, foreach=device.type == "cuda")


def train_loop(
    model: JointModel,
    train_docs: list[Doc],
    cfg: TrainConfig,
    *,
    evaluate: Callable[[JointModel], dict[str, Any]] | None = None,
    progress: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: torch.device,
) -> dict[str, Any]:
    """Train ``model`` in place; returns history and the selected epoch (its weights are loaded back).

    ``evaluate(model)`` is called after each epoch and must return a dict with ``report`` (a metrics
    report) and optional extra data, kept for the selected epoch under ``best_eval``.
    """
    set_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    model.to(device)
    opt = _adamw(_param_groups(model, cfg), device)
    steps_per_epoch = math.ceil(len(train_docs) / cfg.batch_size)
    total = max(1, steps_per_epoch * cfg.epochs)
    warm = int(cfg.warmup_ratio * total)

    def lr_lambda(step: int) -> float:
        if step < warm:
            return (step + 1) / max(1, warm)
        return max(0.0, (total - step) / max(1, total - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    use_amp = device.type == "cuda" and cfg.bf16
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"score": None, "state": None, "epoch": None, "eval": None}
    step = 0
    t0 = time.monotonic()
    for epoch in range(cfg.epochs):
        model.train()
        batches = make_batches(train_docs, cfg.batch_size, rng, cfg.length_bucketing)
        run_loss, n_loss = 0.0, 0
        for batch in batches:
            if should_stop is not None and should_stop():
                raise TrainingCancelled(f"stopped at epoch {epoch + 1}, step {step}")
            docs = [train_docs[i] for i in batch]
            if cfg.relation_warmup_epochs > 0:
                rel_w = min(1.0, step / max(1.0, cfg.relation_warmup_epochs * steps_per_epoch))
            else:
                rel_w = 1.0
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                losses = model.loss(docs, rng, rel_weight=rel_w)
            loss = losses["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            opt.step()
            sched.step()
            step += 1
            run_loss += float(loss.detach())
            n_loss += 1
            if progress is not None and (step % 10 == 0 or step == total):
                elapsed = time.monotonic() - t0
                progress(
                    {
                        "phase": "train",
                        "epoch": epoch + 1,
                        "epochs": cfg.epochs,
                        "step": step,
                        "total_steps": total,
                        "loss": run_loss / max(1, n_loss),
                        "elapsed_s": elapsed,
                        "eta_s": elapsed / step * (total - step),
                    }
                )
        record: dict[str, Any] = {"epoch": epoch + 1, "train_loss": run_loss / max(1, n_loss)}
        if evaluate is not None:
            if progress is not None:
                progress(
                    {
                        "phase": "evaluate",
                        "epoch": epoch + 1,
                        "epochs": cfg.epochs,
                        "step": step,
                        "total_steps": total,
                        "loss": record["train_loss"],
                        "elapsed_s": time.monotonic() - t0,
                        "eta_s": None,
                    }
                )
            ev = evaluate(model)
            rep = ev["report"]
            record["dev_entity_f1"] = rep["entities"]["micro"]["f1"]
            record["dev_relation_f1"] = rep["relations"]["micro"]["f1"]
            score = (record["dev_relation_f1"], record["dev_entity_f1"])
            if not cfg.select_best or best["score"] is None or score > best["score"]:
                best.update(score=score, epoch=epoch + 1, eval=ev)
                if cfg.select_best and epoch + 1 < cfg.epochs:  # the last epoch's weights are already live
                    best["state"] = {
                        k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
                    }
                else:
                    best["state"] = None
        record["elapsed_s"] = time.monotonic() - t0
        history.append(record)
        if progress is not None:
            progress(
                {"phase": "epoch_end", "epochs": cfg.epochs, "step": step, "total_steps": total, **record}
            )
        logger.info("epoch %d: %s", epoch + 1, record)
    if best["state"] is not None and cfg.select_best:
        model.load_state_dict(best["state"])
    return {
        "history": history,
        "best_epoch": best["epoch"] or cfg.epochs,
        "best_eval": best["eval"],
        "train_seconds": time.monotonic() - t0,
    }
