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


def _type_ok(value: Any, default: Any) -> bool:
    """Does a JSON value fit a setting whose default is ``default``?"""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (tuple, list)):
        return isinstance(value, (tuple, list))
    return True  # an optional setting (default None): its config class checks the value


def _kind(default: Any) -> str:
    for cls, words in ((bool, "true or false"), (float, "a number"), (int, "an integer"), (str, "a string")):
        if isinstance(default, cls):
            return words
    return "a list"


def check_config(name: str, config: Any) -> None:
    """Raise ``ValueError`` saying what is wrong with ``config`` as settings of architecture ``name``: a flat
    object of architecture keys (its config class) and training keys (``mlcore.training.TrainConfig``),
    each of its default's type, in the range its config class accepts. Imports the architecture (torch)."""
    if name not in _ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; available: {', '.join(_ARCHITECTURES)}")
    if not isinstance(config, dict):
        raise ValueError("the model config must be a JSON object of settings, e.g. {\"epochs\": 5}")
    from .training import TrainConfig

    cfg_cls = get_architecture(name)[1]
    defaults = {**asdict(TrainConfig()), **asdict(cfg_cls())}
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a setting of {name}; its settings: {', '.join(sorted(defaults))}")
    for key, value in config.items():
        if not _type_ok(value, defaults[key]):
            raise ValueError(f"{key} must be {_kind(defaults[key])} (default {defaults[key]!r}), not {value!r}")
    from .api import split_config

    try:
        split_config(name, config)  # the config classes' own checks (choices, ranges)
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
