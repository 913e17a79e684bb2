"""The generic FNN and KGLM-Net (Fig. 3 of the near-field paper)."""

from __future__ import annotations

import pytest
import torch

from plkg.models.fnn import FNN
from plkg.models.kglm_net import KGLMNet, build_network


def test_forward_matches_manual_formula(seed):
    gen = torch.Generator().manual_seed(seed)
    net = KGLMNet(hidden=20, generator=gen)
    x = torch.linspace(0, 1, 7, dtype=torch.float64).reshape(-1, 1)
    w1, b1 = net.layers[0].weight, net.layers[0].bias
    w2, b2 = net.layers[2].weight, net.layers[2].bias
    ref = torch.tanh(x @ w1.T + b1) @ w2.T + b2
    torch.testing.assert_close(net(x), ref)
    assert sum(p.numel() for p in net.parameters()) == 20 + 20 + 20 + 1


def test_seeded_init_is_reproducible_and_bounded(seed):
    a = FNN(1, (20,), 1, generator=torch.Generator().manual_seed(seed))
    b = FNN(1, (20,), 1, generator=torch.Generator().manual_seed(seed))
    c = FNN(1, (20,), 1, generator=torch.Generator().manual_seed(seed + 1))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)
    assert a.layers[2].weight.abs().max() <= 1 / 20**0.5


def test_architecture_round_trip():
    net = FNN(1, (8, 4), 1, activation="sigmoid")
    arch = net.architecture()
    assert arch == {
        "type": "FNN",
        "in_features": 1,
        "hidden": [8, 4],
        "out_features": 1,
        "activation": "sigmoid",
    }
    assert build_network(arch).architecture() == arch
    assert build_network(KGLMNet(12).architecture()).architecture()["hidden"] == [12]
    with pytest.raises(ValueError, match="unknown network type"):
        build_network({**arch, "type": "CNN"})
    with pytest.raises(ValueError, match="activation"):
        FNN(activation="gelu")
    with pytest.raises(ValueError, match=">= 1"):
        FNN(hidden=(0,))
