"""Temperature scaling (Guo et al., 2017) fitted on dev logits."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _search(nll, lo: float = 0.05, hi: float = 20.0, steps: int = 60) -> float:
    """Minimise a 1-D function of log-temperature: coarse grid, then golden-section refinement."""
    grid = [math.exp(math.log(lo) + i * (math.log(hi) - math.log(lo)) / (steps - 1)) for i in range(steps)]
    vals = [nll(t) for t in grid]
    i = min(range(steps), key=vals.__getitem__)
    a = math.log(grid[max(0, i - 1)])
    b = math.log(grid[min(steps - 1, i + 1)])
    g = (math.sqrt(5) - 1) / 2
    for _ in range(30):
        c, d = b - g * (b - a), a + g * (b - a)
        if nll(math.exp(c)) < nll(math.exp(d)):
            b = d
        else:
            a = c
    return math.exp((a + b) / 2)


def fit_softmax_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Temperature minimising the NLL of ``softmax(logits / T)``; logits [N, C], labels [N]."""
    if logits.numel() == 0:
        return 1.0
    logits, labels = logits.float(), labels.long()
    return _search(lambda t: float(F.cross_entropy(logits / t, labels)))


def fit_sigmoid_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Temperature minimising the binary NLL of ``sigmoid(logits / T)``; logits and labels [N]."""
    if logits.numel() == 0:
        return 1.0
    logits, labels = logits.float(), labels.float()
    return _search(lambda t: float(F.binary_cross_entropy_with_logits(logits / t, labels)))


def fit_relation_temperature(
    logits: torch.Tensor, labels: torch.Tensor, arg_probs: torch.Tensor | None = None, *, softmax_index=None
) -> float:
    """Temperature for relation scores ``p(T) * arg_probs`` against end-to-end correctness ``labels``.

    ``p(T)`` is ``sigmoid(logits / T)`` for [N] logits, or ``softmax(logits / T)[softmax_index]`` for
    [N, C] logits. Fitted on the relations the model outputs, so their reported scores are calibrated
    for what the user sees (a relation is only right when both of its arguments are).
    """
    if logits.numel() == 0:
        return 1.0
    logits, y = logits.float(), labels.float()
    a = arg_probs.float() if arg_probs is not None else torch.ones_like(y)

    def nll(t: float) -> float:
        if softmax_index is None:
            p = torch.sigmoid(logits / t)
        else:
            p = torch.softmax(logits / t, -1).gather(1, softmax_index.long().unsqueeze(1)).squeeze(1)
        p = (p * a).clamp(1e-6, 1 - 1e-6)
        return float(F.binary_cross_entropy(p, y))

    return _search(nll)


def fit_temperatures(cal: dict[str, list[torch.Tensor]]) -> tuple[float, float]:
    """(entity, relation) temperatures from the calibration data that ``predict_docs`` collects on dev.

    Entity: the confidence of each output mention (max softmax probability) against whether its label is
    right, over the spans/words the model outputs as mentions; relation: see
    :func:`fit_relation_temperature`. Temperature never changes a decision, only reported scores.
    """
    t_ent = t_rel = 1.0
    if cal.get("entity_logits"):
        logits = torch.cat(cal["entity_logits"]).float()
        labels = torch.cat(cal["entity_labels"])
        pred = logits.argmax(-1)
        t_ent = fit_relation_temperature(logits, pred == labels, None, softmax_index=pred)
    if cal.get("relation_logits"):
        t_rel = fit_relation_temperature(
            torch.cat(cal["relation_logits"]),
            torch.cat(cal["relation_labels"]),
            torch.cat(cal["relation_arg_probs"]),
            softmax_index=torch.cat(cal["relation_index"]) if cal.get("relation_index") else None,
        )
    return t_ent, t_rel
