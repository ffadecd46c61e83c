"""Temperature scaling recovers a known temperature; uncertainty helpers behave at the extremes."""

import torch

from mlcore.archs.base import bald_categorical, binary_uncertainty, categorical_uncertainty
from mlcore.calibration import fit_relation_temperature, fit_softmax_temperature


def test_softmax_temperature_recovers_scale():
    g = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 5, generator=g) * 2
    labels = torch.multinomial(torch.softmax(true_logits, -1), 1, generator=g).squeeze(1)
    t = fit_softmax_temperature(true_logits * 3, labels)  # overconfident by 3x
    assert 2.5 < t < 3.6


def test_relation_temperature_with_argument_probabilities():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(5000, generator=g) * 2
    args = torch.rand(5000, generator=g) * 0.5 + 0.5
    labels = torch.rand(5000, generator=g) < torch.sigmoid(logits) * args
    t = fit_relation_temperature(logits * 2, labels, args)
    assert 1.6 < t < 2.5
    assert fit_relation_temperature(torch.zeros(0), torch.zeros(0)) == 1.0


def test_uncertainty_extremes():
    u = categorical_uncertainty(torch.tensor([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]))
    assert u["lc"][0] == 0 and u["margin"][0] == 1 and u["entropy"][0].abs() < 1e-6
    assert torch.isclose(u["entropy"][1], torch.log(torch.tensor(3.0)))
    b = binary_uncertainty(torch.tensor([0.5, 1.0]))
    assert b["lc"].tolist() == [0.5, 0.0] and b["margin"].tolist() == [0.0, 1.0]
    same = torch.tensor([[[0.2, 0.8]], [[0.2, 0.8]]])  # MC samples agree -> no mutual information
    split = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # disagree -> log 2
    assert bald_categorical(same).item() < 1e-6
    assert abs(bald_categorical(split).item() - torch.log(torch.tensor(2.0)).item()) < 1e-4
