"""The one place architectures are registered, under versioned names (spaCy-style ``"span.v1"``).

Each entry names the model class and its config dataclass (whose defaults are the architecture's
default config). Modules are imported lazily so importing the registry stays cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, fields
from typing import Any

DEFAULT_ARCHITECTURE = "span.v1"

_ARCHITECTURES: dict[str, tuple[str, str, str]] = {
    "span.v1": ("mlcore.archs.span", "SpanModel", "SpanConfig"),
    "tagger.v1": ("mlcore.archs.tagger", "TaggerModel", "TaggerConfig"),
    "focus.v1": ("mlcore.archs.focus", "FocusModel", "FocusConfig"),
    "ner.v1": ("mlcore.archs.baselines", "NerModel", "NerConfig"),
    "re.v1": ("mlcore.archs.baselines", "ReModel", "ReConfig"),
    "pipeline.v1": ("mlcore.archs.baselines", "PipelineModel", "PipelineConfig"),
    "deep.v1": ("mlcore.archs.deep", "DeepModel", "DeepConfig"),
}


def available_architectures() -> list[str]:
    return list(_ARCHITECTURES)


def get_architecture(name: str) -> tuple[type, type]:
    """(model class, config class) of a registered architecture."""
    if name not in _ARCHITECTURES:
        raise KeyError(f"unknown architecture {name!r}; available: {', '.join(_ARCHITECTURES)}")
    module, model_cls, cfg_cls = _ARCHITECTURES[name]
    mod = importlib.import_module(module)
    return getattr(mod, model_cls), getattr(mod, cfg_cls)


def default_config(name: str) -> dict[str, Any]:
    return asdict(get_architecture(name)[1]())


def make_config(name: str, overrides: dict[str, Any] | None = None):
    """Architecture config from defaults plus overrides; unknown keys are an error."""
    cfg_cls = get_architecture(name)[1]
    names = {f.name for f in fields(cfg_cls)}
    overrides = dict(overrides or {})
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(f"unknown {name} config keys: {sorted(unknown)}")
    return cfg_cls(**overrides)
