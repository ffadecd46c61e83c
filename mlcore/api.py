"""Public entry points: train, load, predict, evaluate."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

import torch

from . import checkpoint as ckpt
from .alignment import AlignStats, Doc, build_docs
from .archs.base import JointModel, RawPrediction
from .calibration import fit_temperatures
from .encoder import (
    WindowedEncoder,
    default_encoder_path,
    encoder_from_config,
    hf_config,
    load_pretrained_encoder,
    load_tokenizer,
)
from .io import read_spert_json, write_spert_json
from .metrics import calibration_report
from .metrics import evaluate as evaluate_sets
from .registry import DEFAULT_ARCHITECTURE, get_architecture
from .training import TrainConfig, epochs_for, set_seed, train_loop
from .types import Example, Mention, Prediction, Relation, Schema

logger = logging.getLogger(__name__)

__all__ = [
    "JointExtractor",
    "train_model",
    "load_model",
    "evaluate",
    "read_spert_json",
    "write_spert_json",
    "default_encoder_path",
    "resolve_device",
]


def resolve_device(device: str | None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def evaluate(
    gold: Sequence[Example], pred: Sequence[Example | Prediction], schema: Schema, **kw
) -> dict[str, Any]:
    """Strict entity/relation P/R/F1 report (see :mod:`mlcore.metrics`)."""
    return evaluate_sets(gold, pred, schema, **kw)


def split_config(arch: str, config: dict[str, Any] | None) -> tuple[Any, TrainConfig]:
    """Split a flat config dict into the architecture config and the training config."""
    cfg_cls = get_architecture(arch)[1]
    arch_keys = {f.name for f in fields(cfg_cls)}
    train_keys = {f.name for f in fields(TrainConfig)}
    a: dict[str, Any] = {}
    t: dict[str, Any] = dict(getattr(cfg_cls, "train_defaults", {}))
    for k, v in (config or {}).items():
        if k in arch_keys:
            a[k] = v
        elif k in train_keys:
            t[k] = v
        else:
            raise ValueError(
                f"unknown config key {k!r} for {arch} (arch keys: {sorted(arch_keys)}; "
                f"training keys: {sorted(train_keys)})"
            )
    return cfg_cls(**a), TrainConfig(**t)


class JointExtractor:
    """A trained joint entity + relation model with its tokenizer, schema and config."""

    def __init__(self, model: JointModel, tokenizer, config: dict[str, Any]):
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.schema: Schema = model.schema
        self.version: int = int(config.get("format_version", ckpt.FORMAT_VERSION))

    @property
    def arch(self) -> str:
        return self.config["arch"]

    # ---- prediction ---------------------------------------------------------------------------------
    def _predict_raw(
        self,
        docs: list[Doc],
        batch_size: int,
        *,
        gold_entities: bool = False,
        mc_samples: int = 0,
        calibration: bool = False,
    ) -> tuple[list[RawPrediction], dict[str, list[torch.Tensor]]]:
        self.model.eval()
        order = sorted(range(len(docs)), key=lambda i: len(docs[i].wp_ids))  # length-bucketed batches
        out: list[RawPrediction | None] = [None] * len(docs)
        cal: dict[str, list[torch.Tensor]] = {}
        with torch.inference_mode():
            for c in range(0, len(order), batch_size):
                idx = order[c : c + batch_size]
                batch = [docs[i] for i in idx]
                nonempty = [i for i, d in zip(idx, batch, strict=True) if d.n_words]
                for i, d in zip(idx, batch, strict=True):
                    if not d.n_words:
                        out[i] = RawPrediction(embedding=None)
                if not nonempty:
                    continue
                raws = self.model.predict_docs(
                    [docs[i] for i in nonempty],
                    gold_entities=gold_entities,
                    mc_samples=mc_samples,
                    calibration=calibration,
                )
                for i, r in zip(nonempty, raws, strict=True):
                    out[i] = r
                if calibration and raws and raws[0].calibration:
                    for k, v in raws[0].calibration.items():
                        cal.setdefault(k, []).append(v)
                    raws[0].calibration = None
        return [r if r is not None else RawPrediction() for r in out], cal

    def _to_prediction(self, doc: Doc, raw: RawPrediction, gold_entities: bool) -> Prediction:
        ents, rels = self.schema.entity_types, self.schema.relation_names
        words = doc.words
        mentions = []
        for i, (ws, we, t, score) in enumerate(raw.ents):
            if gold_entities:
                s, e = doc.ent_chars[i]
            else:
                s, e = words[ws][0], words[we - 1][1]
            mentions.append(Mention(s, e, ents[t], float(score)))
        relations = [Relation(h, t, rels[r], float(score)) for h, t, r, score in raw.rels]
        ex = doc.example
        return Prediction(
            id=ex.id,
            text=ex.text,
            mentions=mentions,
            relations=relations,
            uncertainty=dict(raw.uncertainty),
            embedding=raw.embedding,
        )

    def _docs(self, examples: Sequence[Example], gold: bool) -> list[Doc]:
        return build_docs(examples, self.tokenizer, self.schema, with_gold=gold, cut_at_mentions=False)

    def predict(
        self,
        examples_or_texts: Sequence[Example | str],
        batch_size: int = 8,
        *,
        mc_samples: int = 0,
        gold_entities: bool = False,
    ) -> list[Prediction]:
        """Predict mentions and relations with calibrated scores, uncertainty signals and an embedding.

        ``gold_entities=True`` classifies relations between the examples' own mentions only.
        ``mc_samples > 0`` adds MC-dropout BALD scores (``entity_bald_norm``, ``relation_bald_norm``, ``bald``).
        Gold mentions of input examples are never used to place word boundaries.
        """
        examples = [
            Example(text=x, id=str(i)) if isinstance(x, str) else x for i, x in enumerate(examples_or_texts)
        ]
        docs = self._docs(examples, gold=gold_entities)
        raws, _ = self._predict_raw(docs, batch_size, gold_entities=gold_entities, mc_samples=mc_samples)
        return [self._to_prediction(d, r, gold_entities) for d, r in zip(docs, raws, strict=True)]

    def evaluate(self, examples: Sequence[Example], batch_size: int = 16) -> dict[str, Any]:
        """Full report: entities, relations (end-to-end, boundaries, given gold entities), calibration."""
        pred = self.predict(examples, batch_size)
        given = self.predict(examples, batch_size, gold_entities=True) if self.schema.relation_types else None
        report = evaluate_sets(examples, pred, self.schema, pred_given_gold_entities=given)
        report["calibration"] = calibration_report(examples, pred, self.schema)
        report["calibration"]["entity_temperature"] = self.model.entity_temperature
        report["calibration"]["relation_temperature"] = self.model.relation_temperature
        return report

    # ---- persistence ----------------------------------------------------------------------------------
    def save(self, path: str | Path, *, metrics: dict | None = None, fingerprint: dict | None = None) -> Path:
        """Write a checkpoint directory (created if missing)."""
        from safetensors.torch import save_model

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        enc_dir = path / "encoder"
        enc_dir.mkdir(exist_ok=True)
        self.tokenizer.save_pretrained(str(enc_dir))
        hf_config(self.model.encoder.model).save_pretrained(str(enc_dir))
        self.config["calibration"] = {
            "entity_temperature": self.model.entity_temperature,
            "relation_temperature": self.model.relation_temperature,
        }
        save_model(self.model, str(path / "model.safetensors"))
        ckpt.write_json(path / "config.json", self.config)
        if metrics is not None:
            ckpt.write_json(path / "metrics.json", metrics)
        if fingerprint is not None:
            ckpt.write_json(path / "fingerprint.json", fingerprint)
        return path


def _build(arch: str, arch_cfg: Any, schema: Schema, base: torch.nn.Module, tokenizer) -> JointModel:
    model_cls = get_architecture(arch)[0]
    wenc = WindowedEncoder(base, tokenizer, max_len=arch_cfg.max_wordpieces, overlap=arch_cfg.window_overlap)
    return model_cls(arch_cfg, schema, wenc)


def train_model(
    train: list[Example],
    dev: list[Example],
    schema: Schema,
    out_dir: Path,
    *,
    arch: str = DEFAULT_ARCHITECTURE,
    encoder: str | None = None,
    config: dict | None = None,
    progress: Callable[[dict], None] | None = None,
    device: str | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train ``arch`` on ``train``, select the best epoch on ``dev`` relation F1, calibrate on ``dev``,
    and save a checkpoint to ``out_dir``. Returns the metrics report (also saved as ``metrics.json``).

    Raises :class:`mlcore.training.TrainingCancelled` when ``should_stop()`` becomes true.
    """
    from . import __version__

    dev_t = resolve_device(device)
    enc_src = encoder or default_encoder_path()
    arch_cfg, train_cfg = split_config(arch, config)
    tokenizer = load_tokenizer(enc_src)
    base = load_pretrained_encoder(enc_src)
    set_seed(train_cfg.seed)  # the heads' initial weights too: the same seed trains the same model
    model = _build(arch, arch_cfg, schema, base, tokenizer)
    stats = AlignStats()
    train_docs = build_docs(train, tokenizer, schema, with_gold=True, cut_at_mentions=True, stats=stats)
    train_docs = [d for d in train_docs if d.n_words]
    # the epochs actually run, so the checkpoint, the progress bar and the history agree
    train_cfg = replace(train_cfg, epochs=epochs_for(len(train_docs), train_cfg.epochs, train_cfg.batch_size,
                                                     train_cfg.min_steps))
    config_doc: dict[str, Any] = {
        "format": ckpt.FORMAT_NAME,
        "format_version": ckpt.FORMAT_VERSION,
        "mlcore_version": __version__,
        "arch": arch,
        "arch_config": asdict(arch_cfg),
        "train_config": asdict(train_cfg),
        "schema": schema.to_dict(),
        "encoder_source": str(enc_src),
    }
    extractor = JointExtractor(model, tokenizer, config_doc)
    dev_docs = extractor._docs(dev, gold=True) if dev else []

    def run_dev(m: JointModel) -> dict[str, Any]:
        raws, cal = extractor._predict_raw(dev_docs, train_cfg.eval_batch_size, calibration=True)
        preds = [extractor._to_prediction(d, r, False) for d, r in zip(dev_docs, raws, strict=True)]
        return {"report": evaluate_sets(dev, preds, schema), "calibration_data": cal}

    result = train_loop(
        model,
        train_docs,
        train_cfg,
        evaluate=run_dev if dev_docs else None,
        progress=progress,
        should_stop=should_stop,
        device=dev_t,
    )
    thresholds = tune_thresholds(extractor, dev, dev_docs, train_cfg)
    cal_data = result["best_eval"]["calibration_data"] if result["best_eval"] is not None else None
    for name, tuned in thresholds.items():
        config_doc["arch_config"][name] = tuned["chosen"]
    if any(t["chosen"] != t["configured"] for t in thresholds.values()):
        # what the model outputs changed: fit the temperatures on what it now outputs
        _, cal_data = extractor._predict_raw(dev_docs, train_cfg.eval_batch_size, calibration=True)
    if cal_data is not None:
        t_ent, t_rel = fit_temperatures(cal_data)
        model.entity_temperature, model.relation_temperature = t_ent, t_rel
    report: dict[str, Any] = {}
    if dev_docs:
        if progress is not None:
            progress(
                {
                    "phase": "final_evaluate",
                    "epoch": train_cfg.epochs,
                    "epochs": train_cfg.epochs,
                    "step": None,
                    "total_steps": None,
                    "loss": None,
                    "eta_s": None,
                }
            )
        report = extractor.evaluate(dev, train_cfg.eval_batch_size)
    metrics = {
        "dev": report,
        "history": result["history"],
        "best_epoch": result["best_epoch"],
        "train_seconds": result["train_seconds"],
        "alignment": asdict(stats),
        "arch": arch,
        "thresholds": thresholds,
    }
    fp = ckpt.fingerprint(train)
    extractor.save(out_dir, metrics=metrics, fingerprint=fp)
    return metrics


def _tune_threshold(
    extractor: JointExtractor,
    dev: Sequence[Example],
    dev_docs: list[Doc],
    cfg: TrainConfig,
    *,
    name: str,
    grid: Sequence[float],
    part: str,
) -> dict[str, Any]:
    """Set ``extractor.model.cfg.<name>`` to the grid value with the best dev ``part`` micro F1 (ties:
    the value nearest the configured one); returns ``{"chosen", "configured", "f1": {value: F1}}``."""
    arch_cfg: Any = extractor.model.cfg
    configured = float(getattr(arch_cfg, name))
    f1: dict[float, float] = {}
    for t in sorted({*grid, configured}):
        setattr(arch_cfg, name, t)
        raws, _ = extractor._predict_raw(dev_docs, cfg.eval_batch_size)
        preds = [extractor._to_prediction(d, r, False) for d, r in zip(dev_docs, raws, strict=True)]
        f1[t] = evaluate_sets(dev, preds, extractor.schema)[part]["micro"]["f1"]
    chosen = max(f1, key=lambda t: (f1[t], -abs(t - configured)))
    setattr(arch_cfg, name, chosen)
    return {"chosen": chosen, "configured": configured, "f1": {str(t): v for t, v in f1.items()}}


def tune_thresholds(
    extractor: JointExtractor, dev: Sequence[Example], dev_docs: list[Doc], cfg: TrainConfig
) -> dict[str, dict[str, Any]]:
    """Choose the decision thresholds an architecture has on dev: ``ent_threshold`` (span.v1) by entity F1,
    then ``rel_threshold`` (sigmoid relation heads) by relation F1, given the chosen entities.

    span.v1 is trained on sampled spans and pairs but decides over every span and every pair of predicted
    entities, so SpERT's fixed rules over-predict: on Chia dev one checkpoint scored relation F1 32.9 at
    0.4 and 35.5 at 0.8. A threshold is kept as configured when tuning is off or dev holds fewer gold
    mentions / relations than ``cfg.ent_threshold_min_mentions`` / ``cfg.rel_threshold_min_relations``.
    Returns ``{name: {"chosen", "configured", "f1"}}`` for the thresholds it tuned.
    """
    arch_cfg = getattr(extractor.model, "cfg", None)
    out: dict[str, dict[str, Any]] = {}
    if not dev_docs or arch_cfg is None:
        return out
    n_mentions = sum(len(ex.mentions) for ex in dev)
    n_relations = sum(len(ex.relations) for ex in dev)
    if cfg.tune_ent_threshold and hasattr(arch_cfg, "ent_threshold") and n_mentions >= cfg.ent_threshold_min_mentions:
        out["ent_threshold"] = _tune_threshold(
            extractor, dev, dev_docs, cfg, name="ent_threshold", grid=cfg.ent_threshold_grid, part="entities"
        )
    if cfg.tune_rel_threshold and hasattr(arch_cfg, "rel_threshold") and n_relations >= cfg.rel_threshold_min_relations:
        out["rel_threshold"] = _tune_threshold(
            extractor, dev, dev_docs, cfg, name="rel_threshold", grid=cfg.rel_threshold_grid, part="relations"
        )
    return out


def load_model(path: str | Path, device: str | None = None) -> JointExtractor:
    """Load a checkpoint directory; raises :class:`CheckpointVersionError` on a format mismatch."""
    from safetensors.torch import load_model as st_load

    path = Path(path)
    cfg = ckpt.read_config(path)
    arch = cfg["arch"]
    try:
        cfg_cls = get_architecture(arch)[1]
    except KeyError as e:
        raise ckpt.CheckpointVersionError(f"{path}: {e.args[0]}") from e
    known = {f.name for f in fields(cfg_cls)}
    unknown = set(cfg["arch_config"]) - known
    if unknown:
        raise ckpt.CheckpointVersionError(
            f"{path}: {arch} config has keys this mlcore does not know: {sorted(unknown)}"
        )
    arch_cfg = cfg_cls(**cfg["arch_config"])
    schema = Schema.from_dict(cfg["schema"])
    tokenizer = load_tokenizer(str(path / "encoder"))
    base = encoder_from_config(path / "encoder")
    model = _build(arch, arch_cfg, schema, base, tokenizer)
    st_load(model, str(path / "model.safetensors"), strict=True)
    calib = cfg.get("calibration", {})
    model.entity_temperature = float(calib.get("entity_temperature", 1.0))
    model.relation_temperature = float(calib.get("relation_temperature", 1.0))
    model.to(resolve_device(device))
    model.eval()
    return JointExtractor(model, tokenizer, cfg)
