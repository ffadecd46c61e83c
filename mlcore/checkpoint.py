"""Checkpoint directories: weights, encoder/tokenizer files, versioned config, metrics, fingerprint.

Layout::

    DIR/config.json        format name + version, architecture, label schema, hyperparameters, calibration
    DIR/model.safetensors  all weights (encoder and heads)
    DIR/encoder/           encoder config and tokenizer files (no weights: they are in model.safetensors)
    DIR/metrics.json       dev report of the saved weights
    DIR/fingerprint.json   training-data fingerprint
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .types import Example

FORMAT_NAME = "mlcore-checkpoint"
FORMAT_VERSION = 1


class CheckpointVersionError(Exception):
    """The directory is not an mlcore checkpoint of a format version this code can load."""


def read_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise CheckpointVersionError(f"{path} is not an mlcore checkpoint (no config.json)")
    with open(cfg_path, encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("format") != FORMAT_NAME:
        raise CheckpointVersionError(
            f"{path}: config.json is not an mlcore checkpoint (format={cfg.get('format')!r})"
        )
    version = cfg.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointVersionError(
            f"{path}: checkpoint format version {version!r}, this mlcore reads version {FORMAT_VERSION}; "
            "retrain the model or load it with a matching mlcore release"
        )
    for key in ("arch", "arch_config", "schema"):
        if key not in cfg:
            raise CheckpointVersionError(f"{path}: config.json lacks {key!r}")
    return cfg


def fingerprint(examples: list[Example]) -> dict[str, Any]:
    """sha256 of the canonical training data plus counts (identifies what a model was trained on)."""
    h = hashlib.sha256()
    n_m = n_r = 0
    for ex in examples:
        item = [
            ex.id,
            ex.text,
            [(m.start, m.end, m.type) for m in ex.mentions],
            [(r.head, r.tail, r.type) for r in ex.relations],
        ]
        h.update(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        h.update(b"\n")
        n_m += len(ex.mentions)
        n_r += len(ex.relations)
    return {"sha256": h.hexdigest(), "sentences": len(examples), "mentions": n_m, "relations": n_r}


def write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
