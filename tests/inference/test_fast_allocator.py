"""Fast FNNPA / FNNPAKF: the same allocations as the validating allocators (1e-12), any batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plkg import units
from plkg.inference.allocator import DEFAULT_CHECKPOINT as KGLM
from plkg.inference.allocator import Allocator
from plkg.inference.fairness_allocator import DEFAULT_CHECKPOINT as FAIR
from plkg.inference.fairness_allocator import FairnessAllocator
from plkg.inference.fast_allocator import FastFNNPA, FastFNNPAKF, NumpyFNN

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

RTOL = 1e-12


@pytest.fixture(scope="module")
def fnnpa():
    return FastFNNPA(Allocator.from_checkpoint(KGLM))


@pytest.fixture(scope="module")
def fnnpakf():
    if not FAIR.is_file():
        pytest.skip("committed fairness checkpoint not present")
    return FastFNNPAKF(FairnessAllocator.from_checkpoint(FAIR))


def _budgets(rng, checkpoint, n=40):
    lo, hi = checkpoint.training_range
    return units.dbm_to_w(np.concatenate([[lo, hi], rng.uniform(lo, hi, n)]))


def test_numpy_forward_equals_torch_network(fnnpa, rng):
    ck = fnnpa.allocator.checkpoint
    dbm = rng.uniform(*ck.training_range, 200)
    ref = ck.predict(dbm)
    np.testing.assert_allclose(fnnpa.fnn.batch(dbm), ref, rtol=RTOL)
    np.testing.assert_allclose([fnnpa.fnn.scalar(v) for v in dbm], ref, rtol=RTOL)
    on_torch = fnnpa.fnn.batch(dbm, device="cpu").numpy()
    np.testing.assert_allclose(on_torch, ref, rtol=RTOL)
    torch_net = ck.net(torch.as_tensor(ck.input_norm.forward(dbm)[:, None]))
    via_torch = ck.label_norm.inverse(torch_net.detach().numpy()[:, 0])
    np.testing.assert_allclose(fnnpa.allocator.predict(units.dbm_to_w(dbm)), via_torch, rtol=RTOL)


def test_numpy_backend_gives_the_same_bits(fnnpa, rng):
    numpy_backend = Allocator.from_checkpoint(KGLM, backend="numpy")
    pa = _budgets(rng, numpy_backend.checkpoint)
    assert np.array_equal(numpy_backend.allocation(pa).x_w, fnnpa.allocator.allocation(pa).x_w)


def test_fnnpa_single_and_batched_equal_allocator(fnnpa, rng):
    slow = fnnpa.allocator
    pa = _budgets(rng, slow.checkpoint)
    ref = slow.allocation(pa)
    for i, p in enumerate(pa):
        res = fnnpa(p)
        # the issue asks for bit-for-bit equality with the validating path: one shared kernel
        assert np.array_equal(res.x_w, ref.x_w[i])
        assert res.label == ref.mu[i]
        assert np.array_equal(slow.allocation(p).x_w[0], res.x_w)  # any batch, same bits
        assert res.scaled == bool(ref.scaled[i])
        np.testing.assert_allclose(res.c_bits, ref.c_bits[i], rtol=1e-11)
        assert res.x_w.sum() <= p * (1 + 1e-15)
    for device in (None, "cpu"):
        mu, x, scaled = fnnpa.allocation(pa, device=device)
        np.testing.assert_allclose(np.asarray(x), ref.x_w, rtol=0, atol=RTOL * pa.max())
        np.testing.assert_allclose(np.asarray(mu), ref.mu, rtol=RTOL)
        assert np.array_equal(np.asarray(scaled), ref.scaled)


def test_fnnpakf_single_and_batched_equal_allocator(fnnpakf, rng):
    slow = fnnpakf.allocator
    pa = _budgets(rng, slow.checkpoint)
    ref = slow.allocation(pa, "appro")
    for i, p in enumerate(pa):
        res = fnnpakf(p)
        np.testing.assert_allclose(res.x_w, ref.x_w[i], rtol=0, atol=RTOL * p)
        assert res.label == pytest.approx(ref.t_bits[i], rel=RTOL)
        assert res.scaled == bool(ref.scaled[i])
        assert res.objective == pytest.approx(float(ref.min_c_bits[i]), rel=1e-11)
    t, x, scaled = fnnpakf.allocation(pa)
    np.testing.assert_allclose(x, ref.x_w, rtol=0, atol=RTOL * pa.max())
    np.testing.assert_allclose(t, ref.t_bits, rtol=RTOL)
    assert np.array_equal(scaled, ref.scaled)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fnnpa_on_cuda(fnnpa, rng):
    pa = _budgets(rng, fnnpa.allocator.checkpoint)
    mu, x, _ = fnnpa.allocation(pa)
    mu_g, x_g, _ = fnnpa.allocation(pa, device="cuda")
    np.testing.assert_allclose(mu_g.cpu().numpy(), mu, rtol=RTOL)
    np.testing.assert_allclose(x_g.cpu().numpy(), x, rtol=0, atol=RTOL * pa.max())


def test_power_checks_per_call(fnnpa):
    lo, _ = fnnpa.allocator.checkpoint.training_range
    with pytest.raises(ValueError, match="training range"):
        fnnpa(units.dbm_to_w(lo - 5.0))
    with pytest.raises(ValueError, match="training range"):
        fnnpa.allocation([units.dbm_to_w(lo - 5.0)])
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="P_a"):
            fnnpa(bad)


def test_numpy_fnn_refuses_other_shapes(fnnpa):
    class Fake:
        meta = {"architecture": {"in_features": 2, "out_features": 1, "activation": "tanh"}}

    with pytest.raises(ValueError, match="one-input"):
        NumpyFNN(Fake)


def test_extrapolation_to_an_all_zero_allocation_is_refused():
    """--allow-extrapolation at -100 dBm: KGLM-Net's level lies below every activation level.
    An all-zero allocation (an unused budget) is refused, naming P_a, on both paths."""
    from plkg.errors import PlkgInputError

    fast = FastFNNPA(Allocator.from_checkpoint(KGLM, allow_extrapolation=True))
    with pytest.raises(PlkgInputError, match=r"P_a = 1e-13 W.*all-zero"):
        fast(1e-13)
    with pytest.raises(PlkgInputError, match=r"P_a = 1e-13 W"):
        fast.allocation(np.array([1e-3, 1e-13]))
