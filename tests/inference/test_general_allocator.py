"""Generalising set allocator: model invariances, exact-label mapping, Newton
correction, dataset labels against an independent design path, interpolation baseline, and a
small end-to-end train + held-out evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from plkg import units
from plkg.data.general_dataset import (
    GeometrySpec,
    design_constants,
    generate_general_dataset,
    label_geometry,
    load_general_dataset,
)
from plkg.inference.general_allocator import GeneralAllocator, load_set_allocator
from plkg.models.set_allocator import SetAllocator, pack_sets
from plkg.solvers.maxmin_exact import ExactMaxMin
from plkg.solvers.water_filling import water_filling

TINY = GeometrySpec(k_min=2, k_max=4, n_antennas_choices=(64, 96), n_pb=1, n_pa=10)


def _random_design(rng, d=30, k=3, m_a_log10=(-4, -1)):
    m_a = 10 ** rng.uniform(*m_a_log10, d)
    m_b = 10 ** rng.uniform(-9, -5, d)
    user = np.sort(np.concatenate([np.arange(k), rng.integers(0, k, d - k)]))
    return m_a, m_b, user, k


@pytest.mark.parametrize("target", ["mu", "t"])
def test_set_network_is_permutation_invariant(target, rng, one_torch_thread):
    m_a, m_b, user, k = _random_design(rng)
    torch.manual_seed(0)
    net = SetAllocator(target, hidden=16).double().eval()
    perm = rng.permutation(m_a.size)
    relabel = rng.permutation(k)  # UE names are arbitrary too
    pa = torch.tensor([1e-2, 1.0], dtype=torch.float64)
    outs = []
    for a, b, u in ((m_a, m_b, user), (m_a[perm], m_b[perm], relabel[user][perm])):
        la, lb, us, mask = pack_sets([a, a], [b, b], [u, u], dtype=torch.float64)
        with torch.no_grad():
            outs.append(net(la, lb, us, mask, torch.log(pa)))
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-10, atol=1e-12)


def test_padding_does_not_change_the_output(rng, one_torch_thread):
    m_a, m_b, user, k = _random_design(rng)
    big = _random_design(rng, d=50)
    torch.manual_seed(1)
    net = SetAllocator("t", hidden=16).double().eval()
    la, lb, us, mask = pack_sets([m_a, big[0]], [m_b, big[1]], [user, big[2]], torch.float64)
    la1, lb1, us1, mask1 = pack_sets([m_a], [m_b], [user], torch.float64)
    pa = torch.log(torch.tensor([0.1, 0.1], dtype=torch.float64))
    with torch.no_grad():
        both = net(la, lb, us, mask, pa)
        alone = net(la1, lb1, us1, mask1, pa[:1])
    torch.testing.assert_close(both[:1], alone, rtol=1e-10, atol=1e-12)


class _Oracle(torch.nn.Module):
    """Stands in for the network: returns the exact scale-free label (log(w/P_a) or log t)."""

    def __init__(self, target, labels):
        super().__init__()
        self.target, self.k_max, self.labels = target, 12, labels

    def predict_log_label(self, la, lb, us, mask, log_pa):
        return torch.as_tensor(self.labels, dtype=torch.float64)


def test_exact_labels_give_the_exact_optima(rng):
    """With the true label the mapping must reproduce WF and exact max-min (independent solvers)."""
    m_a, m_b, user, k = _random_design(rng)
    pa = units.dbm_to_w(np.array([-5.0, 10.0, 25.0]))
    wf = water_filling(pa, m_a, m_b)
    w = 1.0 / (np.asarray(wf.mu) * np.log(2.0))
    sum_alloc = GeneralAllocator(_Oracle("mu", np.log(w / pa)), {})
    out = sum_alloc.allocation(m_a, m_b, user, k, pa)
    np.testing.assert_allclose(out.c_bits.sum(-1), wf.objective, rtol=1e-10)
    np.testing.assert_allclose(out.x_w, wf.x_w, rtol=1e-8, atol=1e-12 * pa.max())
    mm = ExactMaxMin(m_a, m_b, user, k).solve(pa)
    fair = GeneralAllocator(_Oracle("t", _logit_t(mm.t_bits, m_a, user, k)), {})
    out = fair.allocation(m_a, m_b, user, k, pa)
    # near saturation (t -> sum log2(1 + 1/m_a)) P(t) is steep: 1e-6 is the conditioning
    np.testing.assert_allclose(out.c_bits.min(-1), mm.t_bits, rtol=1e-6)
    np.testing.assert_allclose(out.x_w.sum(-1), pa, rtol=1e-12)


@pytest.mark.parametrize("error", [-0.03, 0.03])
def test_newton_correction_is_safeguarded(error, rng):
    m_a, m_b, user, k = _random_design(rng, m_a_log10=(-6, -3))
    pa = units.dbm_to_w(np.array([-20.0, -10.0]))  # far from saturation (x m_a << m_b)
    t_star = np.asarray(ExactMaxMin(m_a, m_b, user, k).solve(pa).t_bits)
    fair = GeneralAllocator(_Oracle("t", _logit_t(t_star * (1 + error), m_a, user, k)), {})
    plain = fair.allocation(m_a, m_b, user, k, pa).c_bits.min(-1) / t_star - 1
    newton = fair.allocation(m_a, m_b, user, k, pa, newton_steps=1).c_bits.min(-1) / t_star - 1
    assert np.all(newton >= plain - 1e-12)  # safeguarded: never worse than no step
    assert np.all(np.abs(newton) < 0.2 * abs(error))


def test_budget_modes_are_feasible(rng):
    m_a, m_b, user, k = _random_design(rng)
    pa = units.dbm_to_w(np.array([0.0, 20.0]))
    for scale in (0.5, 2.0):  # under- and over-spending predictions
        mu = np.asarray(water_filling(pa, m_a, m_b).mu) * scale
        alloc = GeneralAllocator(_Oracle("mu", -np.log(mu * np.log(2.0) * pa)), {})
        exact = alloc.allocation(m_a, m_b, user, k, pa, budget="exact")
        cap = alloc.allocation(m_a, m_b, user, k, pa, budget="cap")
        np.testing.assert_allclose(exact.x_w.sum(-1), pa, rtol=1e-12)
        assert np.all(cap.x_w.sum(-1) <= pa * (1 + 1e-12)) and np.all(cap.x_w >= 0)


def test_dataset_constants_match_an_independent_design(seed):
    """m_a at a drawn P_b equals the design of the same scenario built with ue_power_dbm = P_b;
    the labels satisfy the solvers' own optimality checks."""
    from plkg.channels.nearfield_scenario import NearFieldScenario
    from plkg.data.general_dataset import draw_scenario
    from plkg.precoding.block_diagonalization import compute_design

    res = label_geometry({"seed": seed, "index": 0, "spec": TINY.to_dict()})
    rng = np.random.default_rng([seed, 0, res["attempts"] - 1])
    sc = draw_scenario(rng, TINY)
    st = res["sets"][0]
    ref = compute_design(NearFieldScenario(**{**sc.to_dict(), "ue_power_dbm": st["pb_dbm"]}))
    np.testing.assert_allclose(st["m_a"], ref.m_a, rtol=1e-12)
    np.testing.assert_allclose(res["m_b"], ref.m_b, rtol=1e-12)
    assert np.array_equal(res["user"], ref.user)
    pa = units.dbm_to_w(st["pa_dbm"])
    wf = water_filling(pa, ref.m_a, ref.m_b)
    np.testing.assert_allclose(st["mu"], wf.mu, rtol=1e-12)
    # t: every UE's least power at t sums to P_a (the defining property of the max-min optimum)
    lp = ExactMaxMin(ref.m_a, ref.m_b, ref.user, ref.n_users).least_power(st["t"])
    np.testing.assert_allclose(np.asarray(lp.power_w).sum(-1), pa, rtol=1e-9)
    assert design_constants(ref, st["pb_dbm"], sc.noise_bs_w, 1) == pytest.approx(ref.m_a)


def test_interpolator_matches_the_committed_labels():
    """PCHIP on the 140 train labels predicts the 30 test labels (max rel err 1.5e-4)."""
    from plkg.data.dataset import load_dataset
    from plkg.defaults import dataset_path
    from plkg.inference.interp_allocator import Interpolator

    for name, label in (("fig6_sumrate", "mu"), ("fig6_fairness", "t")):
        interp = Interpolator.from_dataset(None, label)
        x, y = load_dataset(dataset_path(name)).part("test")
        pred = interp.predict(units.dbm_to_w(x))
        assert np.max(np.abs(pred / y - 1)) < 2e-3
        with pytest.raises(ValueError, match="outside"):
            interp.predict(units.dbm_to_w(interp.hi_dbm + 5.0))


def test_small_end_to_end_training_generalises(tmp_path, seed, one_torch_thread):
    """Generate, train both networks briefly, evaluate on held-out geometries (another seed)."""
    from plkg.bench.general import evaluate_general
    from plkg.training.train_general import train_general

    train = generate_general_dataset(tmp_path / "train.npz", 16, seed=seed, spec=TINY)
    held = generate_general_dataset(
        tmp_path / "held.npz", 5, seed=seed + 10_000, spec=TINY, val_fraction=0.0
    )
    assert load_general_dataset(train).meta["n_samples"] == 160
    again = generate_general_dataset(
        tmp_path / "again.npz", 5, seed=seed + 10_000, spec=TINY, val_fraction=0.0
    )
    assert again.read_bytes() == held.read_bytes()  # same seed, same bytes
    paths = {}
    for target in ("mu", "t"):
        out = train_general(
            train, target, f"g_{target}", out_dir=tmp_path, hidden=32, max_epochs=40,
            batch_size=32, lr=3e-3, seed=seed, log_dir=None, quiet=True,
        )  # fmt: skip
        paths[target] = out.checkpoint_path
        load_set_allocator(out.checkpoint_path)  # hashes verify
    res = evaluate_general(held, paths["mu"], paths["t"])
    assert res["feasible_fraction"] == 1.0
    # a 16-geometry, 40-epoch model: 0.988-0.9997 on seeds 0-12 (the committed checkpoints are
    # held to the 0.999 / 0.5 % in test_committed_checkpoints_on_the_fig6_design)
    assert res["sum_kr_ratio"]["min"] >= 0.98
    assert res["min_kr_ratio_corrected"]["max_abs_dev"] <= 0.02
    # the tiny network alone (no Newton step; residual on the low-SNR split, slope budget map):
    # 0.06-1.6 % on seeds 0-12, against 4-26 % for the split itself
    assert res["min_kr_ratio"]["max_abs_dev"] <= 0.03
    assert res["min_kr_ratio"]["max_abs_dev"] < res["min_kr_ratio_proxy"]["max_abs_dev"]
    assert res["t_rel_err_max"] < 0.5
    # a tampered sidecar is refused
    side = paths["t"].with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["architecture"]["hidden"] = 8
    side.write_text(json.dumps(meta))
    with pytest.raises(ValueError):
        load_set_allocator(paths["t"])


def _logit_t(t, m_a, user, k):
    from plkg.models.set_allocator import saturation_rate_bits

    q = np.asarray(t) / saturation_rate_bits(m_a, user, k)
    return np.log(q) - np.log1p(-q)


def test_committed_checkpoints_on_the_fig6_design():
    """The shipped checkpoints, on a design they never saw (Fig. 6 is not a training geometry),
    through the method registry: the issue's accuracy targets and feasibility."""
    from plkg.channels.nearfield_scenario import load_scenario
    from plkg.inference.methods import allocate
    from plkg.precoding.design_cache import design_for_scenario

    design = design_for_scenario(load_scenario("fig6"))
    solver = ExactMaxMin(design.m_a, design.m_b, design.user, design.n_users)
    for pa_dbm in (-10.0, 5.0, 30.0):
        pa = float(units.dbm_to_w(pa_dbm))
        wf = water_filling(pa, design.m_a, design.m_b)
        g = allocate("fnnpa-general", design, pa)
        assert g.objective >= 0.999 * float(wf.objective)
        t_star = float(solver.solve(pa).t_bits)
        f = allocate("fnnpakf-general", design, pa)
        assert abs(f.objective / t_star - 1) <= 0.005
        raw = allocate("fnnpakf-general", design, pa, newton_steps=0)  # the network alone
        assert abs(raw.objective / t_star - 1) <= 0.005 and raw.extras["budget"] == "slope"
        for res in (g, f):
            assert np.all(res.x_w >= 0) and res.x_w.sum() <= pa * (1 + 1e-12)


def test_cli_train_general_refuses_a_missing_dataset(tmp_path, capsys):
    from plkg.cli import main

    code = main(["train", "general", "--dataset", str(tmp_path / "none.npz"), "--no-log"])
    assert code == 2 and "--dataset" in capsys.readouterr().err


# ---------------------------------------------------------------- the exact solver answers
class _Constant(torch.nn.Module):
    """A 'network' whose output is a fixed raw label (log(w/P_a) for mu, the logit for t)."""

    def __init__(self, target, value, k_max=12):
        super().__init__()
        self.target, self.k_max, self.value = target, k_max, float(value)

    def predict_log_label(self, la, lb, us, mask, log_pa):
        return torch.full((la.shape[0],), self.value, dtype=torch.float64)


def test_unusable_prediction_falls_back_to_the_exact_solver(rng):
    """Below every activation level (x = 0), off the budget by 1e6, or more UEs than the
    network handles: the exact solver's allocation, one ExactFallbackWarning, and the reason."""
    from plkg.errors import ExactFallbackWarning

    m_a, m_b, user, k = _random_design(rng)
    pa = units.dbm_to_w(np.array([-100.0, 10.0]))
    wf = water_filling(pa, m_a, m_b)
    cases = [
        (_Constant("mu", -50.0), "below every activation level"),  # w = P_a e^-50 << b
        (_Constant("mu", np.log(1e6)), "outside"),  # over-spends a million-fold
        (_Constant("mu", 0.0, k_max=2), "cannot map"),  # K = 3 > k_max
    ]
    for net, why in cases:
        alloc = GeneralAllocator(net, {})
        with pytest.warns(ExactFallbackWarning, match="exact solver"):
            out = alloc.allocation(m_a, m_b, user, k, pa)
        assert all(r is not None and why in r for r in out.fallback), out.fallback
        np.testing.assert_allclose(out.x_w, wf.x_w, rtol=1e-12, atol=0)
        np.testing.assert_allclose(out.label, wf.mu, rtol=1e-12)
        with pytest.raises(ValueError, match="P_a = "):
            alloc.allocation(m_a, m_b, user, k, pa, fallback=False)
    mm = ExactMaxMin(m_a, m_b, user, k).solve(pa)
    alloc = GeneralAllocator(_Constant("t", 0.0, k_max=2), {})
    with pytest.warns(ExactFallbackWarning):
        out = alloc.allocation(m_a, m_b, user, k, pa)
    np.testing.assert_allclose(out.c_bits.min(-1), mm.t_bits, rtol=1e-9)


def test_mismatched_design_arrays_are_refused_not_a_fallback(rng):
    """m_a/m_b/user of different lengths (a broadcasting error deep inside) are refused by name
    up front; the whole batch never silently falls back to the exact solver."""
    import warnings

    from plkg.errors import PlkgInputError, PlkgTypeError

    m_a, m_b, user, k = _random_design(rng)
    alloc = GeneralAllocator(_Constant("mu", 0.0), {})
    bad = [
        ((m_a, m_b[:-1], user, k), "m_b", PlkgInputError),
        ((m_a, m_b, user[:-1], k), "user", PlkgInputError),
        ((m_a, m_b, user.astype(float), k), "user", PlkgTypeError),
        ((m_a, m_b, user, int(user.max())), "user", PlkgInputError),
        ((m_a[:, None], m_b, user, k), "m_a", PlkgInputError),
    ]
    for args, name, kind in bad:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(kind, match=name):
                alloc.allocation(*args, np.array([1e-2]))


def test_zero_budget_and_in_domain_rows(rng):
    """P_a = 0 gives x = 0 with no warning; a good prediction next to it is the network's."""
    import warnings

    m_a, m_b, user, k = _random_design(rng)
    pa = np.array([0.0, 1e-2])
    w = 1.0 / (np.asarray(water_filling(pa[1:], m_a, m_b).mu) * np.log(2.0))
    alloc = GeneralAllocator(_Oracle("mu", np.log(w / pa[1:])), {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = alloc.allocation(m_a, m_b, user, k, pa)
    assert list(out.fallback) == [None, None]
    assert np.all(out.x_w[0] == 0) and out.x_w[1].sum() == pytest.approx(pa[1], rel=1e-12)


def test_offset_form_maps_a_low_budget_level_exactly(rng):
    """The exact level, given as y = log(w/P_a), maps to the exact allocation at P_a = 1e-6 b_min
    (the level sits 1e-6 above the lowest activation level): relative error ~ eps / 1e-6."""
    from plkg.inference.general_allocator import _x_from_log_level
    from plkg.solvers.water_level import normalise, offset_at_power

    m_a, m_b, user, k = _random_design(rng)
    s, delta, q, hs = normalise(m_a, m_b)
    pa = np.array([1e-6 * float(s)])
    res = water_filling(pa, m_a, m_b)
    j = int(np.argmin(delta))  # the lowest activation level: its offset is d itself
    d = offset_at_power(np.asarray(res.x_w)[0, j] / s, delta[j], q[j], hs[j])
    y = np.log1p(np.atleast_1d(d)) + np.log(s / pa)
    x = _x_from_log_level(y, pa, m_a, m_b)
    assert x.sum() == pytest.approx(pa[0], rel=1e-7)
    np.testing.assert_allclose(x, res.x_w, rtol=1e-7, atol=1e-12 * pa[0])


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), "terminated"])
def test_interrupted_training_raises_and_exports_nothing(exc, tmp_path, monkeypatch, seed):
    """Lightning turns a KeyboardInterrupt inside fit into sys.exit(1); both trainers re-raise
    the original exception (Terminated for SIGTERM, so the CLI exits 143), write no checkpoint
    and leave SIGINT's handler as it was."""
    import signal

    from plkg.errors import Terminated
    from plkg.training.general_module import SetAllocatorModule
    from plkg.training.regression_module import RegressionModule
    from plkg.training.train import train_regressor
    from plkg.training.train_general import train_general

    error = Terminated(15) if exc == "terminated" else exc

    def interrupted(self, batch, batch_idx):
        raise error

    monkeypatch.setattr(SetAllocatorModule, "training_step", interrupted)
    monkeypatch.setattr(RegressionModule, "training_step", interrupted)
    handler = signal.getsignal(signal.SIGINT)
    data = generate_general_dataset(tmp_path / "g.npz", 4, seed=seed, spec=TINY, val_fraction=0.5)
    out = tmp_path / "ck"
    from plkg.defaults import dataset_path

    runs = (
        lambda: train_general(data, "mu", "g", out_dir=out, max_epochs=2, log_dir=None, quiet=True),
        lambda: train_regressor(dataset_path("fig6_sumrate"), "k", out_dir=out, log_dir=None),
    )
    for train in runs:
        with pytest.raises(type(error)) as info:
            train()
        assert info.value is error
        assert not out.exists() or list(out.iterdir()) == []
        assert signal.getsignal(signal.SIGINT) is handler
