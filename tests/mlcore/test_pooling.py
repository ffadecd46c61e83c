"""Range-max pooling against brute force."""

import torch

from mlcore.pooling import RangeMax, words_from_wordpieces


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
