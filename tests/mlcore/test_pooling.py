"""Range-max and range-sum pooling against brute force."""

import torch

from mlcore.pooling import RangeMax, RangeSum, words_from_wordpieces


def test_range_max_matches_brute_force_and_empty_is_zero():
    torch.manual_seed(0)
    x = torch.randn(3, 13, 5)
    rm = RangeMax(x)
    bs, ss, es = [], [], []
    for b in range(3):
        for s in range(13):
            for e in range(s, 14):
                bs.append(b), ss.append(s), es.append(e)
    got = rm.query(torch.tensor(bs), torch.tensor(ss), torch.tensor(es))
    for i, (b, s, e) in enumerate(zip(bs, ss, es, strict=True)):
        want = x[b, s:e].max(0).values if e > s else torch.zeros(5)
        assert torch.equal(got[i], want), (b, s, e)


def test_range_max_gradient_flows():
    x = torch.randn(1, 6, 4, requires_grad=True)
    RangeMax(x).query(torch.tensor([0]), torch.tensor([1]), torch.tensor([5])).sum().backward()
    assert x.grad[0, 0].abs().sum() == 0 and x.grad[0, 1:5].abs().sum() > 0


def test_words_from_wordpieces():
    h = torch.tensor([[[1.0, 5.0], [3.0, 2.0], [0.0, 9.0], [7.0, 7.0]]])  # [1, 4, 2]
    wp_word = torch.tensor([[0, 0, 1, 2]])  # last one is padding (n_words = 2)
    out = words_from_wordpieces(h, wp_word, 2)
    assert out.tolist() == [[[3.0, 5.0], [0.0, 9.0]]]


def _all_ranges(b_n, n):
    bs, ss, es = [], [], []
    for b in range(b_n):
        for s in range(n):
            for e in range(s, n + 1):
                bs.append(b), ss.append(s), es.append(e)
    return torch.tensor(bs), torch.tensor(ss), torch.tensor(es)


def test_range_sum_and_mean_match_brute_force_and_empty_is_zero():
    torch.manual_seed(0)
    x = torch.randn(3, 11, 5, dtype=torch.float64)
    rs = RangeSum(x)
    b, s, e = _all_ranges(3, 11)
    got_sum, got_mean = rs.query(b, s, e), rs.query(b, s, e, mean=True)
    assert got_sum.shape == (len(b), 5) and got_sum.dtype == torch.float64
    for i, (bi, si, ei) in enumerate(zip(b.tolist(), s.tolist(), e.tolist(), strict=True)):
        if ei > si:
            assert torch.allclose(got_sum[i], x[bi, si:ei].sum(0)), (bi, si, ei)
            assert torch.allclose(got_mean[i], x[bi, si:ei].mean(0)), (bi, si, ei)
        else:
            assert not got_sum[i].any() and not got_mean[i].any(), (bi, si, ei)
    # reversed ranges (e < s) are empty too, not negative sums
    rev = rs.query(torch.tensor([0]), torch.tensor([7]), torch.tensor([2]))
    assert not rev.any()


def test_range_sum_accumulates_low_precision_in_float32():
    torch.manual_seed(0)
    x = torch.rand(1, 400, 3).to(torch.bfloat16)
    got = RangeSum(x).query(torch.tensor([0]), torch.tensor([390]), torch.tensor([400]))
    assert got.dtype == torch.bfloat16
    want = x[0, 390:400].float().sum(0)
    # a bf16 running sum (~200 here, 8 bits of mantissa) would be off by about 1
    assert torch.allclose(got.float(), want, rtol=1e-2, atol=0.05)


def test_range_sum_gradient_flows_to_the_range_only():
    x = torch.randn(2, 6, 4, requires_grad=True)
    RangeSum(x).query(torch.tensor([1]), torch.tensor([1]), torch.tensor([4]), mean=True).sum().backward()
    assert x.grad[0].abs().sum() == 0
    assert torch.allclose(x.grad[1, 1:4], torch.full((3, 4), 1 / 3))
    assert x.grad[1, [0, 4, 5]].abs().sum() == 0
