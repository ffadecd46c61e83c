"""Memory-bounded max-pooling over word and span ranges.

Reference SpERT pools by materialising batch x spans x wordpieces x hidden, which exhausts memory on long
criteria. Here wordpieces are first max-reduced to words (a scatter), then any word range ``[s, e)`` is
answered from a sparse table of range maxima in O(1): memory is levels x batch x words x hidden, with
levels = floor(log2(words)) + 1, independent of the number of spans. Range sums and means come from
prefix sums over words (batch x (words + 1) x hidden), also independent of the number of spans.
"""

from __future__ import annotations

import torch


def words_from_wordpieces(hidden: torch.Tensor, wp_word: torch.Tensor, n_words: int) -> torch.Tensor:
    """Max-pool wordpieces into words.

    hidden [B, T, H]; wp_word [B, T] word index per wordpiece (``n_words`` for padding) -> [B, N, H].
    """
    b, _, h = hidden.shape
    base = hidden.new_zeros((b, n_words + 1, h))
    idx = wp_word.unsqueeze(-1).expand(-1, -1, h)
    pooled = torch.scatter_reduce(base, 1, idx, hidden, reduce="amax", include_self=False)
    return pooled[:, :n_words]


class RangeMax:
    """Sparse table over words: ``query(b, s, e)`` = max over x[b, s:e] (zeros where e <= s)."""

    def __init__(self, x: torch.Tensor):
        # x: [B, N, H]; table: [K, B, N, H], level k holds max of x[:, i : i + 2**k] (zero-padded at the end)
        self.b, self.n, self.h = x.shape
        levels = [x]
        k = 1
        while (1 << k) <= self.n:
            prev = levels[-1]
            half = 1 << (k - 1)
            cur = torch.maximum(prev[:, : self.n - half], prev[:, half:])
            cur = torch.cat([cur, cur.new_zeros((self.b, half, self.h))], dim=1)
            levels.append(cur)
            k += 1
        self.table = torch.stack(levels, 0).reshape(-1, self.h)  # [(K * B * N), H]

    def query(self, b: torch.Tensor, s: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """b, s, e: [S] long -> [S, H] maxima over words [s, e) of sequence b."""
        length = (e - s).clamp(min=1)
        k = torch.floor(torch.log2(length.to(torch.float32))).to(torch.long)
        # guard float rounding at exact powers of two
        k = torch.where((1 << (k + 1)) <= length, k + 1, k)
        k = torch.where((1 << k) > length, k - 1, k)
        stride_k = self.b * self.n
        i1 = k * stride_k + b * self.n + s.clamp(max=self.n - 1)
        i2 = k * stride_k + b * self.n + (e - (1 << k)).clamp(min=0, max=self.n - 1)
        out = torch.maximum(self.table[i1], self.table[i2])
        empty = (e <= s).unsqueeze(-1)
        return out.masked_fill(empty, 0.0)


class RangeSum:
    """Prefix sums over words: ``query(b, s, e)`` = sum (or mean) over x[b, s:e] (zeros where e <= s)."""

    def __init__(self, x: torch.Tensor):
        # x: [B, N, H]; prefix: [B * (N + 1), H], row b * (N + 1) + i = sum of x[b, :i]. Accumulated in
        # float32 at least: a bf16 running sum loses the small terms of long sentences.
        self.b, self.n, self.h = x.shape
        self.dtype = x.dtype
        acc = torch.promote_types(x.dtype, torch.float32)
        prefix = torch.cat([x.new_zeros((self.b, 1, self.h), dtype=acc), x.to(acc).cumsum(1)], dim=1)
        self.prefix = prefix.reshape(-1, self.h)

    def query(self, b: torch.Tensor, s: torch.Tensor, e: torch.Tensor, mean: bool = False) -> torch.Tensor:
        """b, s, e: [S] long -> [S, H] sums (``mean=True``: means) over words [s, e) of sequence b."""
        row = b * (self.n + 1)
        s = s.clamp(min=0, max=self.n)
        e = e.clamp(min=0, max=self.n)
        out = self.prefix[row + torch.maximum(e, s)] - self.prefix[row + s]  # zeros where e <= s
        if mean:
            out = out / (e - s).clamp(min=1).unsqueeze(-1).to(out.dtype)
        return out.to(self.dtype)
