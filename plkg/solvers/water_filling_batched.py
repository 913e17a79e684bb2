"""Batched exact water-filling for (P1) over [B, N_D], near memory speed, on NumPy or torch.

Eqs. (45)-(48) of the near-field paper for B independent problems at once (a budget and its own
m_a, m_b per row). Same equations as :mod:`plkg.solvers.water_filling` (a safeguarded Newton
iteration on the water level's offset d above the row's lowest activation level, powers in units
of that level: :mod:`plkg.solvers.water_level`), written as a fixed sequence of in-place
elementwise passes over preallocated [B, N_D] buffers:

    r = sqrt(1/4 + q (1 + d)),  x = (d - delta)^+ / (1/2 + m_a + r),  S = sum x,
    S' = sum_{x>0} 1/(2 r)

(``dx/dd = 1 / (2 r)`` reuses the square root). The bracket is ``[0, min_j d_j(p)]``, the start
its top over sqrt(N_D), and the step is Newton on log S against log d (S grows like d^(1/2) to
d^1, so it is nearly linear there): about 6 evaluations for the [1000, 800] benchmark family.
Rows that have converged keep their offset and leave the working set once they are the majority.
Rows whose budget is far below their level are re-solved above the top active activation level.
One evaluation is ~10 passes over [B, N_D] float64, so the time is a multiple of one elementwise
pass (``plkg bench allocation`` reports which).

The same code runs on NumPy (``device=None``) and on any torch device (``device="cuda"``).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.solvers.water_filling import DEFAULT_MAX_ITER, DEFAULT_RTOL, WaterFillingError
from plkg.solvers.water_level import (
    LEVEL_MIN_W,
    RATIO_MAX,
    activation_levels,
    check_power_domain,
    needs_top_reference,
    normalise,
    offset_ceiling,
    raise_outside_domain,
    refine_on_top_reference,
)


class _Ops:
    """The few in-place array operations of the kernel, on NumPy or torch (float64)."""

    def __init__(self, device=None):
        self.device = device
        if device is None:
            self.torch = None
            return
        import torch

        self.torch = torch

    def asarray(self, a):
        if self.torch is None:
            return np.ascontiguousarray(a, dtype=np.float64)
        return self.torch.as_tensor(np.asarray(a), dtype=self.torch.float64, device=self.device)

    def index(self, a):
        if self.torch is None:
            return np.asarray(a, dtype=np.int64)
        return self.torch.as_tensor(np.asarray(a), dtype=self.torch.int64, device=self.device)

    def zeros(self, shape):
        if self.torch is None:
            return np.zeros(shape)
        return self.torch.zeros(shape, dtype=self.torch.float64, device=self.device)

    def empty(self, shape):
        if self.torch is None:
            return np.empty(shape)
        return self.torch.empty(shape, dtype=self.torch.float64, device=self.device)

    def mul(self, a, b, out):
        return np.multiply(a, b, out=out) if self.torch is None else self.torch.mul(a, b, out=out)

    def add(self, a, b, out):
        return np.add(a, b, out=out) if self.torch is None else self.torch.add(a, b, out=out)

    def sub(self, a, b, out):
        return np.subtract(a, b, out=out) if self.torch is None else self.torch.sub(a, b, out=out)

    def div(self, a, b, out):
        return np.divide(a, b, out=out) if self.torch is None else self.torch.div(a, b, out=out)

    def sqrt(self, a):
        return np.sqrt(a, out=a) if self.torch is None else a.sqrt_()

    def relu(self, a):
        return np.maximum(a, 0.0, out=a) if self.torch is None else a.clamp_(min=0.0)

    def where(self, cond, a, b):
        if self.torch is None:
            return np.where(cond, a, b)
        return self.torch.where(cond, a, b)

    def exp(self, a):
        return np.exp(a) if self.torch is None else a.exp()

    def log(self, a):
        return np.log(a) if self.torch is None else a.log()

    def numpy(self, a):
        return a if self.torch is None else a.cpu().numpy()


def _evaluate(ops, d, delta, q, hs, mask, bufs):
    """x(d) [R, N] and dS/dd [R] for normalised offsets d [R]; delta, q, hs, mask [R or 1, N].

    ``bufs`` are three preallocated [B, N] arrays (B >= R); their first R rows are used, so the
    iteration allocates no large arrays (a fresh one costs page faults on first touch).
    """
    dc = d[:, None]
    n_rows = d.shape[0]
    r, x, den = (buf[:n_rows] for buf in bufs)
    ops.mul(q, 1.0 + dc, out=r)
    r += 0.25
    ops.sqrt(r)  # sqrt(1 + 4 m_a w / m_b) / 2
    ops.sub(dc, delta, out=x)
    if mask is None:
        ops.relu(x)
    else:
        x *= mask
    ops.add(hs, r, out=den)
    x /= den
    # dS/dd = sum_{x > 0} 1 / (2 r); r is reused as the buffer
    ops.div((x > 0) if mask is None else mask, r, out=r)
    return x, 0.5 * r.sum(-1)


def _newton(ops, p, delta, q, hs, d, lo, hi, rtol, max_iter, mask):
    """Safeguarded Newton on the offsets d [B] for S(d) = p. Returns (x [B, N], d, evaluations).

    Normalised as in :mod:`plkg.solvers.water_level` (powers in units of the row's b_min, the
    level as its offset above b_min). ``delta, q, hs`` [B or 1, N]; ``mask`` [B or 1, N] bool (or
    None): the subchannels allowed to be active (the bound path knows the active set exactly; the
    general path takes it from the sign of d - delta). The step is Newton on log S against
    log d (S grows like d^(1/2)..d^1, so this is nearly linear); rows that have converged are
    dropped from the working set once they are the majority (a gather of the remaining rows;
    their x, evaluated at their final offset, is copied out first).
    """
    shared = delta.shape[0] == 1
    bufs = [ops.empty((p.shape[0], delta.shape[-1])) for _ in range(3)]

    def take(a, keep):
        return a if a is None or (shared and a.shape[0] == 1) else a[keep]

    positive = ops.numpy(p > 0)
    rows = ops.index(np.flatnonzero(positive))  # P_a = 0 rows: x = 0, nothing to solve
    d_all = d
    cur = [p, delta, q, hs, mask, d, lo, hi]
    out = None  # x of rows that left the working set; None while the working set is every row
    if not positive.all():
        cur = [take(v, rows) for v in cur]
        out = ops.zeros((p.shape[0], delta.shape[-1]))
    it = 0
    while True:
        it += 1
        if it > max_iter:
            raise WaterFillingError(
                f"batched water-filling did not converge in {max_iter} evaluations"
            )
        if rows.shape[0] == 0:
            return out, d_all, it - 1
        p_c, delta_c, q_c, hs_c, m_c, d_c, lo_c, hi_c = cur
        x, slope = _evaluate(ops, d_c, delta_c, q_c, hs_c, m_c, bufs)
        s = x.sum(-1)
        f = s - p_c
        conv = (abs(f) <= rtol * p_c) | (hi_c - lo_c <= 4e-16 * d_c)
        n_keep = int((~conv).sum())
        if n_keep == 0:  # x of a converged row is final: it is evaluated at its final offset
            if out is None:
                return x, d_all, it
            out[rows] = x
            return out, d_all, it
        lo_c = ops.where(f < 0, d_c, lo_c)
        hi_c = ops.where(f > 0, d_c, hi_c)
        # Newton on log S(log d): d log S / d log d = d S' / S
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = d_c * ops.exp(-ops.log(s / p_c) * s / (d_c * slope))
        ok = (step >= lo_c) & (step <= hi_c)
        fallback = ops.where(hi_c < np.inf, 0.5 * (lo_c + hi_c), 2.0 * d_c)
        d_c = ops.where(conv, d_c, ops.where(ok, step, fallback))
        d_all[rows] = d_c
        if n_keep <= rows.shape[0] // 2:
            # converged rows leave the working set; their x (at their final offset) is kept
            if out is None:
                out = ops.empty((p.shape[0], delta.shape[-1]))
            done_idx = ops.index(np.flatnonzero(ops.numpy(conv)))
            out[rows[done_idx]] = x[done_idx]
            keep_idx = ops.index(np.flatnonzero(~ops.numpy(conv)))
            rows = rows[keep_idx]
            cur = [take(v, keep_idx) for v in (p_c, delta_c, q_c, hs_c, m_c, d_c, lo_c, hi_c)]
        else:
            cur = [p_c, delta_c, q_c, hs_c, m_c, d_c, lo_c, hi_c]


def _check_batch(pa_w, m_a, m_b):
    """Validate and shape the inputs of :func:`water_filling_batched` with read-only reductions.

    The same checks as :func:`plkg.solvers.water_filling._check_inputs` (finite, m_a >= 0,
    m_b > 0, P_a >= 0, matching N_D), by min/max (NaN propagates through both), so validating a
    [1000, 800] batch costs four reads instead of several boolean passes.
    """
    pa = np.asarray(pa_w, dtype=np.float64)
    m_a = np.asarray(m_a, dtype=np.float64)
    m_b = np.asarray(m_b, dtype=np.float64)
    if pa.ndim != 1:
        raise ValueError(f"pa_w must be a 1-D array [B], got shape {pa.shape}")
    if m_a.ndim not in (1, 2) or m_a.shape[-1:] != m_b.shape[-1:] or m_a.shape[-1] == 0:
        raise ValueError(
            f"m_a and m_b must be [N_D] or [B, N_D] with one non-empty N_D, got {m_a.shape}, "
            f"{m_b.shape}"
        )
    shape = np.broadcast_shapes(m_a.shape, m_b.shape)
    if len(shape) == 2 and shape[0] not in (1, pa.size):
        raise ValueError(f"m_a, m_b have {shape[0]} rows for {pa.size} budgets")
    for name, v, low_ok in (("m_a", m_a, True), ("m_b", m_b, False), ("P_a", pa, True)):
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{name} contains NaN or inf")
        if lo < 0 or (lo == 0 and not low_ok):
            raise ValueError(f"{name} must be {'>= 0' if low_ok else '> 0'}")
    shape = (1, shape[-1]) if len(shape) == 1 else shape
    return pa, np.broadcast_to(m_a, shape), np.broadcast_to(m_b, shape)


def _rescale(x, pa) -> None:
    """x [B, N] *= P_a / sum x in place (sum x = P_a exactly, as the validating path); 0 rows stay 0."""
    total = x.sum(-1)
    x *= (pa / (total + (total == 0)))[:, None]


def water_filling_batched(
    pa_w, m_a, m_b, *, device=None, rtol: float = DEFAULT_RTOL, max_iter: int = DEFAULT_MAX_ITER
):
    """Exact (P1) for B problems with their own constants, batched over [B, N_D].

    Parameters
    ----------
    pa_w : array [B], watt (>= 0)
    m_a : array [B, N_D] (or [N_D]), dimensionless; m_b : array [B, N_D] (or [N_D]), watt
        Constants of Eq. (42); validated as in :func:`plkg.solvers.water_filling.water_filling`
        (including its solvable power domain, :func:`plkg.solvers.water_level.check_power_domain`).
    device : torch device or str, optional
        None: NumPy on the CPU. A torch device (``"cpu"``, ``"cuda"``): the same kernel in torch.
    rtol, max_iter : as in :func:`plkg.solvers.water_filling.water_filling`.

    Returns
    -------
    (x_w [B, N_D], level_w [B], iterations int)
        float64 NumPy arrays (``device=None``) or tensors on ``device``; sum x = P_a exactly.
        mu = 1 / (level_w ln 2) (Eq. (47)).
    """
    pa, m_a, m_b = _check_batch(pa_w, m_a, m_b)
    ops = _Ops(device)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        s, delta, q, hs = normalise(m_a, m_b)  # s [B or 1]: each row in units of its b_min
        top = s * (1.0 + delta.max(-1))  # the highest activation level of each row
        if not ((s >= LEVEL_MIN_W).all() and (top <= RATIO_MAX).all()):
            check_power_domain(pa, m_a, m_b)  # an activation level leaves float64: names it
        p = pa / s
        # Bracket of the offset: S(0) = 0 <= p <= S(d_hi), d_hi = min_j d_j(p) (one subchannel
        # alone takes the budget). The start is d_hi / sqrt(N_D), the geometric middle between
        # one active subchannel (d = d_hi) and N_D sharing it equally (d ~ d_hi / N_D).
        safe = np.where(pa > 0, p, 1.0)
        hi_np = offset_ceiling(safe, delta, q, hs)
        raise_outside_domain(pa, s, safe, hi_np, q.max(-1))
    pa_t, p_t = ops.asarray(pa), ops.asarray(p)
    lo, hi = ops.zeros(pa.shape), ops.asarray(hi_np)
    delta_t, q_t, hs_t = ops.asarray(delta), ops.asarray(q), ops.asarray(hs)
    d0 = hi_np / math.sqrt(delta.shape[-1])
    try:
        x, d, it = _newton(
            ops, p_t, delta_t, q_t, hs_t, ops.asarray(d0), lo, hi, rtol, max_iter, None
        )
    except WaterFillingError:
        # no convergence at float64's edge: the validating solver (same optimum, more care)
        from plkg.solvers.water_filling import water_filling

        res = water_filling(pa, m_a, m_b, rtol=rtol, max_iter=max_iter)
        return ops.asarray(res.x_w), ops.asarray(res.level_w), int(np.max(res.iterations))
    risky = np.flatnonzero((pa > 0) & needs_top_reference(None, ops.numpy(d), p, rtol))
    if risky.size:
        # budgets far below the level: re-solve those rows above the top active activation level
        full = np.broadcast_to  # shared [1, N] constants -> the risky rows
        rows = [full(v, (pa.size, v.shape[-1]))[risky] for v in (m_a, m_b, delta, q, hs)]
        s_rows = np.broadcast_to(s, pa.shape)[risky]
        x_top, d_top = refine_on_top_reference(
            activation_levels(rows[0], rows[1]),
            s_rows,
            *rows[2:],
            p[risky],
            ops.numpy(d)[risky],
            rtol,
        )
        idx = ops.index(risky)
        x[idx] = ops.asarray(x_top)
        d[idx] = ops.asarray(d_top)
    _rescale(x, pa_t)
    s_t = ops.asarray(np.array(np.broadcast_to(s, pa.shape)))
    return x, s_t + s_t * d, it


def solve_batched_levels(
    pa, s, delta, q, hs, n_active, offset0, order, *, rtol, max_iter, device=None
):
    """Kernel of :meth:`BoundWaterFilling.solve`: one design (sorted by offset), B budgets.

    Normalised constants of :func:`plkg.solvers.water_level.normalise` (``s`` float, W; ``delta,
    q, hs`` [N_D] ascending in delta). ``n_active`` [B] is the exact active count of each budget
    (from the breakpoints), ``offset0`` [B] the interpolated start; the offset is bracketed by
    ``[delta_{n-1}, delta_n]``. Returns (x_w [B, N_D] in design order, level_w [B], iterations).
    """
    n_d = delta.size
    ops = _Ops(device)
    p = pa / s
    idx = np.clip(n_active, 1, n_d)
    lo_np = delta[idx - 1]
    hi_np = np.where(n_active < n_d, delta[np.minimum(idx, n_d - 1)], np.inf)
    d0 = np.clip(offset0, lo_np, hi_np)
    d0 = np.where(
        (d0 > lo_np) & (d0 < hi_np),
        d0,
        np.where(np.isfinite(hi_np), 0.5 * (lo_np + hi_np), 2.0 * lo_np + p),
    )
    mask = ops.asarray(np.arange(n_d)[None, :] < n_active[:, None])
    # masked by multiplication in the kernel: an inactive offset must stay finite (0 * inf = NaN)
    delta = np.minimum(delta, np.finfo(np.float64).max)
    pa_t = ops.asarray(pa)
    x, d, it = _newton(
        ops,
        ops.asarray(p),
        ops.asarray(delta[None, :]),
        ops.asarray(q[None, :]),
        ops.asarray(hs[None, :]),
        ops.asarray(d0),
        ops.asarray(lo_np),
        ops.asarray(hi_np),
        rtol,
        max_iter,
        mask,
    )
    _rescale(x, pa_t)
    out = ops.empty(x.shape)
    out[:, ops.index(order)] = x
    w = ops.where(pa_t > 0, s + s * d, ops.asarray(np.full(pa.shape, s)))
    return out, w, it


__all__ = ["solve_batched_levels", "water_filling_batched"]
