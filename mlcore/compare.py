"""Train several architectures (or configs) on the same data and budget and compare them on dev.

:func:`compare` trains every :class:`CompareSpec` with :func:`mlcore.train_model` (same training data,
epochs, batch size, seed and encoder), loads each saved checkpoint back, predicts dev (timed) and with gold
entities, and returns one row per spec; :func:`format_table` renders the rows. ``python -m mlcore
compare`` is the command line.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .registry import get_architecture
from .types import Example, Schema

BUDGET_KEYS = ("epochs", "batch_size")  # set by compare for every spec: the comparison's shared budget


@dataclass
class CompareSpec:
    """One row of a comparison: a display name, an architecture and its config overrides."""

    name: str
    arch: str
    config: dict[str, Any] = field(default_factory=dict)


def make_specs(archs: Sequence[str] = (), configs: Sequence[dict[str, Any]] = ()) -> list[CompareSpec]:
    """Specs from architecture names (default config, named after the architecture) and from
    ``{"name", "arch", "config"}`` dicts. Raises ``ValueError`` on unknown architectures, malformed
    entries, duplicate names or a config that sets the shared budget (epochs, batch size)."""
    specs = [CompareSpec(a, a) for a in archs]
    for i, c in enumerate(configs):
        if not isinstance(c, dict) or "arch" not in c:
            raise ValueError(f"configs[{i}] must be an object with 'arch' (and optional 'name', 'config')")
        unknown = set(c) - {"name", "arch", "config"}
        if unknown:
            raise ValueError(f"configs[{i}] has unknown keys {sorted(unknown)}")
        cfg = c.get("config") or {}
        if not isinstance(cfg, dict):
            raise ValueError(f"configs[{i}]['config'] must be an object")
        specs.append(CompareSpec(str(c.get("name") or c["arch"]), str(c["arch"]), dict(cfg)))
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"duplicate comparison names {dup}; give configs distinct 'name's")
    for s in specs:
        try:
            get_architecture(s.arch)
        except KeyError as e:
            raise ValueError(e.args[0]) from e
        budget = sorted(set(BUDGET_KEYS) & set(s.config))
        if budget:
            raise ValueError(f"{s.name}: {budget} are the comparison's shared budget, not a per-config key")
    return specs


def _finished(
    ckpt_dir: Path, arch: str, config: dict[str, Any], train: list[Example], encoder: str | None
) -> dict[str, Any] | None:
    """The metrics of a checkpoint in ``ckpt_dir`` trained on ``train`` with this architecture, encoder and
    config (values chosen on dev after training, such as tuned thresholds, aside), or None."""
    from . import checkpoint as ckpt
    from .api import split_config
    from .encoder import default_encoder_path

    try:
        doc = json.loads((ckpt_dir / "config.json").read_text(encoding="utf-8"))
        metrics = json.loads((ckpt_dir / "metrics.json").read_text(encoding="utf-8"))
        fingerprint = json.loads((ckpt_dir / "fingerprint.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    arch_cfg, train_cfg = split_config(arch, config)
    tuned = set(metrics.get("thresholds") or {})
    want_arch = {k: v for k, v in asdict(arch_cfg).items() if k not in tuned}
    have_arch = {k: v for k, v in (doc.get("arch_config") or {}).items() if k not in tuned}
    same = (
        doc.get("arch") == arch
        and have_arch == want_arch
        and json.loads(json.dumps(asdict(train_cfg))) == doc.get("train_config")
        and doc.get("encoder_source") == str(encoder or default_encoder_path())
        and fingerprint == json.loads(json.dumps(ckpt.fingerprint(train)))
        and "train_seconds" in metrics
    )
    return metrics if same else None


def _dir_name(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name) or "model"


def compare(
    train: list[Example],
    dev: list[Example],
    schema: Schema,
    specs: Sequence[CompareSpec],
    *,
    epochs: int = 3,
    batch_size: int = 8,
    encoder: str | None = None,
    out_dir: str | Path | None = None,
    device: str | None = None,
    predict_batch_size: int = 8,
    progress: Callable[[dict], None] | None = None,
    resume: bool = False,
) -> list[dict[str, Any]]:
    """Train and evaluate each spec; returns one row per spec, in order.

    Row keys: ``name``, ``arch``, ``entity_f1``, ``relation_f1`` (end-to-end), ``relation_f1_given_gold_entities``
    (micro F1, percent), ``training_minutes`` (the training loop's wall clock, ``train_seconds`` of the
    checkpoint's metrics: the per-epoch dev evaluation included, the threshold tuning, calibration and final
    evaluation after it not), ``predict_sentences_per_s`` (dev, predicted by the reloaded checkpoint at
    ``predict_batch_size``), ``parameters``, ``best_epoch``, ``dev_sentences``, ``train_sentences`` and
    ``checkpoint`` (its directory under ``out_dir``; None when no ``out_dir`` was given: checkpoints then go
    to a temporary directory removed afterwards). ``progress`` gets train_model's progress dicts with the
    spec's ``name`` added. With ``resume`` (needs ``out_dir``), a spec whose checkpoint directory already
    holds a finished training of the same architecture, configuration, budget and data is not trained again:
    its row comes from that checkpoint (an interrupted comparison picks up where it stopped).
    """
    from .api import load_model, train_model
    from .metrics import evaluate

    if not dev:
        raise ValueError("compare needs dev examples to evaluate on")
    if not specs:
        raise ValueError("nothing to compare")
    if resume and out_dir is None:
        raise ValueError("resume needs out_dir: the checkpoints to pick up")
    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="mlcore_compare_")
        root = Path(tmp.name)
    else:
        root = Path(out_dir)
    rows = []
    try:
        for spec in specs:
            ckpt_dir = root / _dir_name(spec.name)
            config = {**spec.config, "epochs": epochs, "batch_size": batch_size}

            def forward(p: dict, name: str = spec.name) -> None:
                if progress is not None:
                    progress({"name": name, **p})

            metrics = _finished(ckpt_dir, spec.arch, config, train, encoder) if resume else None
            if metrics is None:
                metrics = train_model(
                    train,
                    dev,
                    schema,
                    ckpt_dir,
                    arch=spec.arch,
                    encoder=encoder,
                    config=config,
                    progress=forward,
                    device=device,
                )
            train_min = metrics["train_seconds"] / 60
            model = load_model(ckpt_dir, device=device)
            t1 = time.perf_counter()
            preds = model.predict(dev, batch_size=predict_batch_size)
            predict_s = time.perf_counter() - t1
            given = model.predict(dev, batch_size=predict_batch_size, gold_entities=True)
            report = evaluate(dev, preds, schema, pred_given_gold_entities=given)
            rows.append(
                {
                    "name": spec.name,
                    "arch": spec.arch,
                    "entity_f1": report["entities"]["micro"]["f1"],
                    "relation_f1": report["relations"]["micro"]["f1"],
                    "relation_f1_given_gold_entities": report["relations_given_gold_entities"]["micro"]["f1"],
                    "training_minutes": train_min,
                    "predict_sentences_per_s": len(dev) / max(predict_s, 1e-9),
                    "parameters": sum(p.numel() for p in model.model.parameters()),
                    "best_epoch": metrics["best_epoch"],
                    "train_sentences": len(train),
                    "dev_sentences": len(dev),
                    "config": config,
                    "checkpoint": str(ckpt_dir) if tmp is None else None,
                }
            )
            del model
    finally:
        if tmp is not None:
            tmp.cleanup()
    return rows


COLUMNS = [
    ("name", "name", "{}"),
    ("arch", "arch", "{}"),
    ("entity_f1", "entity F1", "{:.2f}"),
    ("relation_f1", "relation F1", "{:.2f}"),
    ("relation_f1_given_gold_entities", "rel. F1 gold ents", "{:.2f}"),
    ("training_minutes", "train min", "{:.1f}"),
    ("predict_sentences_per_s", "predict sent/s", "{:.1f}"),
    ("parameters", "parameters", "{:,}"),
]


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of :func:`compare` rows (one line per row, columns aligned)."""
    cells = [[h for _, h, _ in COLUMNS]] + [[fmt.format(r[k]) for k, _, fmt in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = []
    for n, line in enumerate(cells):
        # text columns left-aligned, numbers right-aligned
        parts = [
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
