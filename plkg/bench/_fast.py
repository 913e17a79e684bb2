"""Fast-path figures for ``plkg bench allocation`` and ``plkg bench maxmin``.

Every figure is a ratio to a baseline timed in the same run:

* one allocation on the Fig. 6 design: bound exact water-filling vs a minimal NumPy water-filling
  written here (:func:`minimal_water_filling`, safeguarded Newton on the water level); FNNPA
  (bound) vs bound exact water-filling; both fast paths' agreement with the validating ones;
* batched water-filling over [B, N_D] = [1000, 800] random problems: time in units of one
  elementwise pass over the same array (``c = a * b``, 2 reads + 1 write of B N_D doubles);
* the same kernels on a torch ``device`` (``--device cuda``) with the device/CPU time ratio;
* max-min: bound exact solver (one solve, no call history) vs CVXPY (timed by the caller), and
  FNNPAKF (bound) vs bound exact max-min.
"""

from __future__ import annotations

import time

import numpy as np

from plkg.bench import median_time_s


def minimal_water_filling(pa_w: float, m_a: np.ndarray, m_b: np.ndarray, rtol: float = 1e-13):
    """Baseline: the ~20-line water-filling a user writes (safeguarded Newton on the level w).

    Exact for (P1) (Eq. (48) in the cancellation-free form); bracket [min_j w_j(P/N), min_j
    w_j(P)], Newton from the lower end, bisection when a step leaves the bracket.
    """
    b = m_b * (1 + m_a)
    c = 4 * m_a / m_b
    s = 1 + 2 * m_a

    def level(x):
        return np.min((m_a * x + b) * ((1 + m_a) * x + b) / b)

    lo, hi = level(pa_w / b.size), level(pa_w)
    w = lo
    for _ in range(100):
        r = np.sqrt(1 + c * w)
        x = np.maximum(2 * (w - b) / (s + r), 0)
        f = x.sum() - pa_w
        if abs(f) <= rtol * pa_w:
            return x * (pa_w / x.sum()), w
        lo, hi = (w, hi) if f < 0 else (lo, w)
        d = np.sum((x > 0) / r)
        w = w - f / d if d > 0 else 0.5 * (lo + hi)
        if not lo < w < hi:
            w = 0.5 * (lo + hi)
    raise RuntimeError("minimal water-filling did not converge")


# NumPy calls (ufuncs, reductions, array creation, fancy indexing) per allocation, counted in
# the code at the Fig. 6 operating point: bound water-filling = 2 evaluations of 7 calls, one
# derivative (2), rescale, zeros, scatter; FastFNNPA = forward (3: [W|b] @ [z, 1], tanh, dot) +
# Eq. (48) (6) + sum; the minimal reference = set-up and bracket (~21) + 3 Newton iterations of
# 12 + the last evaluation (7) and rescale (2).
NUMPY_CALLS = {"bound_wf": 19, "bound_fnnpa": 10, "minimal_numpy_wf": 66}


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))


def _sync(device):
    if device is not None and str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _per_call_paired(fns: dict, budgets, repeats: int, min_time_s: float = 0.05) -> dict:
    """Median time of one call of each of ``fns``, sampled in turn (A, B, C, A, B, C, ...).

    Paths compared by a ratio are timed side by side, so a change of machine load during the
    run shifts every path alike instead of biasing the ratio.
    """
    values = [float(p) for p in budgets]
    sweeps = {}
    for name, fn in fns.items():

        def sweep(fn=fn):
            for p in values:
                fn(p)

        sweep()  # warm-up
        calls, t = 1, 0.0
        while t < min_time_s and calls < 1 << 20:
            calls *= 2
            t0 = time.perf_counter()
            for _ in range(calls):
                sweep()
            t = time.perf_counter() - t0
        sweeps[name] = (sweep, calls)
    samples = {name: [] for name in fns}
    for _ in range(max(repeats, 3) * 3):
        for name, (sweep, calls) in sweeps.items():
            t0 = time.perf_counter()
            for _ in range(calls):
                sweep()
            samples[name].append((time.perf_counter() - t0) / (calls * len(values)))
    return {name: float(np.median(v)) for name, v in samples.items()}


def budgets_w(lo_dbm: float, hi_dbm: float, n: int = 16, seed: int = 0) -> np.ndarray:
    """``n`` seeded random budgets (W), uniform in dBm on [lo_dbm, hi_dbm]."""
    from plkg import units

    return units.dbm_to_w(np.random.default_rng(seed).uniform(lo_dbm, hi_dbm, n))


def single_allocation(alloc, budgets, repeats: int) -> dict:
    """One power at a time on the bound design: minimal WF, bound WF, fast FNNPA."""
    from plkg.inference.fast_allocator import FastFNNPA
    from plkg.solvers.water_filling import water_filling
    from plkg.solvers.water_filling_bound import BoundWaterFilling

    m_a, m_b = alloc.m_a, alloc.m_b
    bound = BoundWaterFilling(m_a, m_b)
    fast = FastFNNPA(alloc)
    t = _per_call_paired(
        {
            "minimal": lambda p: minimal_water_filling(p, m_a, m_b),
            "bound_wf": bound,
            "bound_fnnpa": fast,
        },
        budgets,
        repeats,
    )
    t_ref, t_wf, t_fnn = t["minimal"], t["bound_wf"], t["bound_fnnpa"]
    slow_wf = water_filling(budgets, m_a, m_b)
    slow_fnn = alloc.allocation(budgets)
    fast_x = np.stack([fast(p).x_w for p in budgets])
    fast_mu = np.array([fast(p).label for p in budgets])
    # the dispatch floor: one small in-place ufunc call on an N_D vector (what every path pays
    # per NumPy call; the arithmetic of N_D ~ 1e2 elements is far below it)
    vec = np.ones(m_a.size)
    t_call = median_time_s(lambda: np.multiply(vec, 1.0, out=vec), repeats=repeats)
    return {
        "n_budgets": int(np.size(budgets)),
        "small_ufunc_call_s": t_call,
        "numpy_calls_per_allocation": NUMPY_CALLS,
        "median_s": {
            "minimal_numpy_wf": t_ref,
            "bound_wf": t_wf,
            "bound_fnnpa": t_fnn,
        },
        "ratio_minimal_over_bound_wf": t_ref / t_wf,  # target >= 1, goal >= 2
        "ratio_bound_fnnpa_over_bound_wf": t_fnn / t_wf,  # target <= 0.5
        "bound_wf_evaluations_mean": float(np.mean([bound(p).iterations for p in budgets])),
        "max_rel_diff": {
            "bound_wf_vs_water_filling": _rel(
                np.stack([bound(p).x_w for p in budgets]), slow_wf.x_w
            ),
            "minimal_wf_vs_water_filling": _rel(
                np.stack([minimal_water_filling(p, m_a, m_b)[0] for p in budgets]), slow_wf.x_w
            ),
            "bound_fnnpa_vs_allocator": _rel(fast_x, slow_fnn.x_w),
            "bound_fnnpa_mu_vs_allocator": _rel(fast_mu, slow_fnn.mu),
            "bound_fnnpa_bit_identical": bool(np.array_equal(fast_x, slow_fnn.x_w)),
        },
    }


def batched_water_filling(
    repeats: int, device=None, n_batch: int = 1000, n_sub: int = 800, seed: int = 0
) -> dict:
    """[n_batch, n_sub] independent problems: batched kernel vs one elementwise pass."""
    from plkg.solvers.water_filling import water_filling
    from plkg.solvers.water_filling_batched import water_filling_batched

    rng = np.random.default_rng(seed)
    m_a = 10 ** rng.uniform(-3.0, 1.0, (n_batch, n_sub))
    m_b = 10 ** rng.uniform(-3.0, 1.0, (n_batch, n_sub))
    pa = 10 ** rng.uniform(-2.0, 2.0, n_batch)
    out = np.empty_like(m_a)
    t_pass = median_time_s(lambda: np.multiply(m_a, m_b, out=out), repeats=repeats)
    t_np = median_time_s(lambda: water_filling_batched(pa, m_a, m_b), repeats=repeats)
    t_old = median_time_s(lambda: water_filling(pa, m_a, m_b), repeats=1, min_time_s=0.0)
    x, _, evaluations = water_filling_batched(pa, m_a, m_b)
    res = {
        "shape": [n_batch, n_sub],
        "elementwise_pass_s": t_pass,
        "batched_numpy_s": t_np,
        "validating_water_filling_s": t_old,
        "passes_equivalent": t_np / t_pass,
        "fraction_of_pass_speed": t_pass / t_np,
        "meets_100ms_target": bool(t_np <= 0.1),
        "evaluations": int(evaluations),
        "max_rel_diff_vs_water_filling": _rel(x, water_filling(pa, m_a, m_b).x_w),
    }
    import torch

    from plkg.parallel.torch_threads import torch_threads

    for name, dev in (("torch_cpu", "cpu"), ("torch_device", device)):
        if dev is None or (name == "torch_device" and str(dev) == "cpu"):
            continue
        ta, tb = (torch.as_tensor(v, device=dev) for v in (m_a, m_b))
        to = torch.empty_like(ta)

        def one_pass(ta=ta, tb=tb, to=to, dev=dev):
            torch.mul(ta, tb, out=to)
            _sync(dev)

        def solve(dev=dev):
            water_filling_batched(pa, m_a, m_b, device=dev)
            _sync(dev)

        # torch CPU with one intra-op thread: on a shared 2-core machine more threads contend
        with torch_threads(1 if dev == "cpu" else None):
            res[f"{name}_pass_s"] = median_time_s(one_pass, repeats=repeats)
            res[f"{name}_s"] = median_time_s(solve, repeats=repeats)
    if "torch_device_s" in res:
        res["device"] = str(device)
        res["ratio_device_over_cpu_numpy"] = res["torch_device_s"] / t_np
    return res


def batched_fnnpa(alloc, pa_batch, repeats: int, device=None) -> dict:
    """FNNPA over [B] budgets: bound fast path (NumPy / device) vs the validating allocator."""
    from plkg.inference.fast_allocator import FastFNNPA
    from plkg.solvers.water_filling_bound import BoundWaterFilling

    fast = FastFNNPA(alloc)
    bound = BoundWaterFilling(alloc.m_a, alloc.m_b)
    t_slow = median_time_s(lambda: alloc.allocation(pa_batch), repeats=repeats)
    t_fast = median_time_s(lambda: fast.allocation(pa_batch), repeats=repeats)
    t_wf = median_time_s(lambda: bound.solve(pa_batch), repeats=repeats)
    _, x_fast, _ = fast.allocation(pa_batch)
    res = {
        "n_powers": int(np.size(pa_batch)),
        "validating_fnnpa_s": t_slow,
        "bound_fnnpa_s": t_fast,
        "bound_wf_s": t_wf,
        "ratio_bound_fnnpa_over_bound_wf": t_fast / t_wf,
        "max_rel_diff_vs_allocator": _rel(x_fast, alloc.allocation(pa_batch).x_w),
    }
    if device is not None:

        def on_device():
            fast.allocation(pa_batch, device=device)
            _sync(device)

        res["bound_fnnpa_device_s"] = median_time_s(on_device, repeats=repeats)
    return res


def maxmin_single(design, budgets, repeats: int) -> dict:
    """Bound exact max-min (no call history) vs ExactMaxMin cold, one budget at a time; FNNPAKF.

    FNNPAKF is timed against a :class:`BoundMaxMin` on the checkpoint's own subchannel constants
    (so the ratio is measured even when the checkpoint and the current design differ).
    """
    from plkg.solvers.maxmin_bound import BoundMaxMin
    from plkg.solvers.maxmin_exact import ExactMaxMin

    bound = BoundMaxMin.from_design(design)
    exact = ExactMaxMin(design.m_a, design.m_b, design.user, design.n_users)

    def cold(p):
        exact.clear_warm_start()
        return exact.solve(p)

    t_ref = np.array([float(cold(float(p)).t_bits) for p in budgets])
    t_bound = np.array([float(bound(float(p)).t_bits) for p in budgets])
    res = {
        "n_budgets": int(np.size(budgets)),
        **{
            f"{name}_per_solve_s": v
            for name, v in _per_call_paired(
                {"exact_cold_same_budgets": cold, "bound_exact": bound}, budgets, repeats
            ).items()
        },
        "bound_exact_evaluations_mean": float(
            np.mean([bound(float(p)).iterations for p in budgets])
        ),
        "bound_vs_exact_t_max_rel_diff": float(np.max(np.abs(t_bound / t_ref - 1.0))),
    }
    try:
        from plkg.inference.fairness_allocator import FairnessAllocator
        from plkg.inference.fast_allocator import FastFNNPAKF

        fast = FastFNNPAKF(FairnessAllocator.from_checkpoint())
        own = BoundMaxMin(fast.m_a, fast.m_b, fast.user, fast.n_users)
        lo, hi = fast.allocator.checkpoint.training_range
        pa = budgets_w(lo, hi, np.size(budgets), seed=1)
        t_pair = _per_call_paired({"fast": fast, "own": own}, pa, repeats)
        t_fast, t_own = t_pair["fast"], t_pair["own"]
        slow = fast.allocator.allocation(pa, "appro")
        res.update(
            {
                "bound_fnnpakf_per_solve_s": t_fast,
                "bound_exact_checkpoint_design_per_solve_s": t_own,
                "ratio_bound_fnnpakf_over_bound_exact": t_fast / t_own,  # target <= 0.5
                "bound_fnnpakf_vs_allocator_rel_diff": _rel(
                    np.stack([fast(p).x_w for p in pa]), slow.x_w
                ),
            }
        )
    except (ValueError, FileNotFoundError) as exc:
        res["bound_fnnpakf_skipped"] = str(exc)
    return res
