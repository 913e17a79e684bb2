"""Batched exact water-filling for (P1) over [B, N_D], near memory speed, on NumPy or torch.

Eqs. (45)-(48) of the near-field paper for B independent problems at once (a budget and its own
m_a, m_b per row). Same equations as :mod:`plkg.solvers.water_filling` (a safeguarded Newton
iteration on the water level w), written as a fixed sequence of in-place elementwise passes over
preallocated [B, N_D] buffers:

    r = sqrt(1/4 + w m_a/m_b),  x = (w - b)^+ / (1/2 + m_a + r),  S = sum x,  S' = sum_{x>0} 1/(2 r)

with b = m_b (1 + m_a) (``dx/dw = 1 / sqrt(1 + 4 m_a w / m_b)`` reuses the square root). The
bracket is ``[min_j b_j, min_j w_j(P_a)]``, the start its geometric middle, and the step is
Newton on log S against log w (S grows like w^(1/2) to w^1, so it is nearly linear there):
5-8 evaluations for the [1000, 800] benchmark family. Rows that have converged keep their level
and leave the working set once they are the majority. One evaluation is ~10 passes over
[B, N_D] float64, so the time is a multiple of one elementwise pass (``plkg bench allocation``
reports which).

The same code runs on NumPy (``device=None``) and on any torch device (``device="cuda"``).
"""

from __future__ import annotations

import math

import numpy as np

from plkg.solvers.water_filling import DEFAULT_MAX_ITER, DEFAULT_RTOL, WaterFillingError


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


def _evaluate(ops, w, b, q, hs, mask, bufs):
    """x(w) [R, N] and dS/dw [R] for levels w [R]; b, q, hs, mask [R or 1, N].

    ``bufs`` are three preallocated [B, N] arrays (B >= R); their first R rows are used, so the
    iteration allocates no large arrays (a fresh one costs page faults on first touch).
    """
    wc = w[:, None]
    n_rows = w.shape[0]
    r, x, den = (buf[:n_rows] for buf in bufs)
    ops.mul(q, wc, out=r)
    r += 0.25
    ops.sqrt(r)  # sqrt(1 + 4 m_a w / m_b) / 2
    ops.sub(wc, b, out=x)
    if mask is None:
        ops.relu(x)
    else:
        x *= mask
    ops.add(hs, r, out=den)
    x /= den
    # dS/dw = sum_{x > 0} 1 / (2 r); r is reused as the buffer
    ops.div((x > 0) if mask is None else mask, r, out=r)
    return x, 0.5 * r.sum(-1)


def _newton(ops, pa, b, q, hs, w, lo, hi, rtol, max_iter, mask):
    """Safeguarded Newton on the levels w [B] for S(w) = P_a. Returns (x [B, N], w, evaluations).

    ``b, q, hs`` [B or 1, N]; ``mask`` [B or 1, N] bool (or None): the subchannels allowed to be
    active (the bound path knows the active set exactly; the general path takes it from the sign
    of w - b). The step is Newton on log S against log w (S grows like w^(1/2)..w^1, so this is
    nearly linear); rows that have converged are dropped from the working set once they are the
    majority (a gather of the remaining rows; their x, evaluated at their final level, is
    copied out first).
    """
    shared = b.shape[0] == 1
    bufs = [ops.empty((pa.shape[0], b.shape[-1])) for _ in range(3)]

    def take(a, keep):
        return a if a is None or (shared and a.shape[0] == 1) else a[keep]

    positive = ops.numpy(pa > 0)
    rows = ops.index(np.flatnonzero(positive))  # P_a = 0 rows: x = 0, nothing to solve
    w_all = w
    cur = [pa, b, q, hs, mask, w, lo, hi]
    out = None  # x of rows that left the working set; None while the working set is every row
    if not positive.all():
        cur = [take(v, rows) for v in cur]
        out = ops.zeros((pa.shape[0], b.shape[-1]))
    it = 0
    while True:
        it += 1
        if it > max_iter:
            raise WaterFillingError(
                f"batched water-filling did not converge in {max_iter} evaluations"
            )
        if rows.shape[0] == 0:
            return out, w_all, it - 1
        pa_c, b_c, q_c, hs_c, m_c, w_c, lo_c, hi_c = cur
        x, slope = _evaluate(ops, w_c, b_c, q_c, hs_c, m_c, bufs)
        s = x.sum(-1)
        f = s - pa_c
        conv = (abs(f) <= rtol * pa_c) | (hi_c - lo_c <= 4e-16 * w_c)
        n_keep = int((~conv).sum())
        if n_keep == 0:  # x of a converged row is final: it is evaluated at its final level
            if out is None:
                return x, w_all, it
            out[rows] = x
            return out, w_all, it
        lo_c = ops.where(f < 0, w_c, lo_c)
        hi_c = ops.where(f > 0, w_c, hi_c)
        # Newton on log S(log w): d log S / d log w = w S' / S
        with np.errstate(divide="ignore", invalid="ignore"):
            step = w_c * ops.exp(-ops.log(s / pa_c) * s / (w_c * slope))
        ok = (step > lo_c) & (step < hi_c)
        fallback = ops.where(hi_c < np.inf, 0.5 * (lo_c + hi_c), 2.0 * w_c)
        w_c = ops.where(conv, w_c, ops.where(ok, step, fallback))
        w_all[rows] = w_c
        if n_keep <= rows.shape[0] // 2:
            # converged rows leave the working set; their x (at their final level) is kept
            if out is None:
                out = ops.empty((pa.shape[0], b.shape[-1]))
            done_idx = ops.index(np.flatnonzero(ops.numpy(conv)))
            out[rows[done_idx]] = x[done_idx]
            keep_idx = ops.index(np.flatnonzero(~ops.numpy(conv)))
            rows = rows[keep_idx]
            cur = [take(v, keep_idx) for v in (pa_c, b_c, q_c, hs_c, m_c, w_c, lo_c, hi_c)]
        else:
            cur = [pa_c, b_c, q_c, hs_c, m_c, w_c, lo_c, hi_c]


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


def _min_level(x, b, q, hs):
    """min_j w_j(x) [B] for per-row powers x [B, 1]: w_j(x) = b + x (2 hs + q x), in place."""
    t = q * x
    t += hs
    t += hs
    t *= x
    t += b
    return t.min(axis=-1)


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
        Constants of Eq. (42); validated as in :func:`plkg.solvers.water_filling.water_filling`.
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
    b_np = 1.0 + m_a
    b_np *= m_b  # b = m_b (1 + m_a)
    q_np = m_a / m_b
    hs_np = m_a + 0.5
    # Bracket: S(min_j b_j) = 0 <= P_a <= S(min_j w_j(P_a)), where w_j(x) = b + x (1 + 2 m_a +
    # x m_a / m_b) is the level giving subchannel j the power x (the inverse of Eq. (48)). The
    # validating solver's tighter lower end min_j w_j(P_a / N_D) costs five more passes and, from
    # the geometric middle, saves no Newton step.
    safe = np.where(pa > 0, pa, 1.0)[:, None]
    lo_np = b_np.min(axis=-1)
    hi_np = _min_level(safe, b_np, q_np, hs_np)
    pa_t, lo, hi = ops.asarray(pa), ops.asarray(lo_np), ops.asarray(hi_np)
    b, q, hs = ops.asarray(b_np), ops.asarray(q_np), ops.asarray(hs_np)
    w0 = np.sqrt(lo_np * hi_np)  # geometric middle of the bracket
    x, w, it = _newton(ops, pa_t, b, q, hs, ops.asarray(w0), lo, hi, rtol, max_iter, None)
    _rescale(x, pa_t)
    return x, w, it


def solve_batched_levels(pa, b, q, hs, n_active, level0, order, *, rtol, max_iter, device=None):
    """Kernel of :meth:`BoundWaterFilling.solve`: one design (sorted by b), B budgets.

    ``n_active`` [B] is the exact active count of each budget (from the breakpoints), ``level0``
    [B] the interpolated start; the level is bracketed by ``[b_{n-1}, b_n]``.
    """
    n_d = b.size
    ops = _Ops(device)
    idx = np.clip(n_active, 1, n_d)
    lo_np = b[idx - 1]
    hi_np = np.where(n_active < n_d, b[np.minimum(idx, n_d - 1)], np.inf)
    w0 = np.clip(level0, lo_np, hi_np)
    w0 = np.where(
        (w0 > lo_np) & (w0 < hi_np),
        w0,
        np.where(np.isfinite(hi_np), 0.5 * (lo_np + hi_np), 2.0 * lo_np + pa),
    )
    mask = ops.asarray(np.arange(n_d)[None, :] < n_active[:, None])
    pa_t = ops.asarray(pa)
    x, w, it = _newton(
        ops,
        pa_t,
        ops.asarray(b[None, :]),
        ops.asarray(q[None, :]),
        ops.asarray(hs[None, :]),
        ops.asarray(w0),
        ops.asarray(lo_np),
        ops.asarray(hi_np),
        rtol,
        max_iter,
        mask,
    )
    _rescale(x, pa_t)
    out = ops.empty(x.shape)
    out[:, ops.index(order)] = x
    w = ops.where(pa_t > 0, w, ops.asarray(np.full(pa.shape, b[0])))
    return out, w, it


__all__ = ["solve_batched_levels", "water_filling_batched"]
