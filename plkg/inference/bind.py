"""``plkg.bind``: one allocation method bound to one subchannel design, validated once.

:func:`plkg.inference.methods.allocate` checks the method, the design, the power budget and every
option on every call, and loads what the method needs (a checkpoint, a dataset) each time: the
right call for a one-off allocation. :func:`bind` makes those checks and loads once and returns a
:class:`BoundMethod`; a call then checks only the budget. Use it for many budgets on one design (a
power sweep, an online controller).

A bound method offers two paths:

* ``bound(pa_w)`` -> :class:`~plkg.solvers.allocation.AllocationResult`: the result of
  ``plkg.allocate(method, design, pa_w, **options)`` for the same arguments, field for field and
  bit for bit, with the same one-line refusal of a bad budget.
* ``bound.x_w(pa_w)`` -> the allocation alone (W), for one budget (a float: [N_D]) or a batch
  ([B]: [B, N_D]), from the method's online solver :attr:`BoundMethod.fast` (built on first use):

  - ``wfpa``: :class:`~plkg.solvers.water_filling_bound.BoundWaterFilling`, the exact
    water-filling of Eq. (48) from a bind-time table; ~1e-13 relative from the call's.
  - ``fnnpa``: :class:`~plkg.inference.fast_allocator.FastFNNPA`, KGLM-Net (Eqs. (49)-(51)) then
    Eq. (48); one budget bit for bit the call's (one kernel), a batch ~1e-15 relative.
  - ``fnnpakf`` (mapping ``appro``): :class:`~plkg.inference.fast_allocator.FastFNNPAKF`, the
    fairness FNN (Eq. (62)) then Eqs. (59)-(60); ~1e-15 relative.
  - ``exact-maxmin``: :class:`~plkg.solvers.maxmin_bound.BoundMaxMin`, the exact max-min of
    Eqs. (52)-(53) from a bind-time table, then the canonical stage 2; equal to round-off.
  - ``fnnpa-general``, ``fnnpakf-general``: the loaded
    :class:`~plkg.inference.general_allocator.GeneralAllocator`; one budget bit for bit, a batch
    to the float32 network's round-off (~1e-6 relative).

  Every other method (and ``fnnpakf`` with another mapping) has ``fast = None``, and ``x_w``
  runs the bound call per budget.

The budget domain is that of ``plkg.allocate`` (finite, >= 0 W; max-min and learned methods need
> 0 and say so). Warnings (:class:`~plkg.errors.ExactFallbackWarning` of the general methods) are
those of ``plkg.allocate``.
"""

from __future__ import annotations

import math

import numpy as np

from plkg.checks import check_instance, check_power_w, check_real_array
from plkg.inference.methods import check_method, check_method_options, method_function
from plkg.precoding.block_diagonalization import SubchannelDesign
from plkg.solvers.allocation import AllocationResult

_UNBUILT = object()  # BoundMethod.fast before its first access


class BoundMethod:
    """An allocation method bound to one design and its options (from :func:`bind`).

    Attributes
    ----------
    method : str
        The method's name (a key of :data:`plkg.inference.methods.ALLOCATION_METHODS`).
    design : SubchannelDesign
        The bound design: N_D subchannels of K UEs.
    options : dict
        The validated options, passed on as ``plkg.allocate`` passes them.
    fast : object or None
        The method's online solver for :meth:`x_w` (module docstring), built on first access;
        None where the method has none.

    Notes
    -----
    ``bound(pa_w)`` runs the method exactly as ``plkg.allocate(method, design, pa_w,
    **options)`` does, without re-checking the method, design and options or reloading a
    checkpoint; each call checks the budget.
    """

    def __init__(self, method: str, design: SubchannelDesign, options: dict):
        self.method = method
        self.design = design
        self.options = dict(options)
        self._fast = _UNBUILT
        self._prepare()

    def _prepare(self) -> None:
        """Load what every call needs (a method without bound state: its registry function)."""
        self._function = method_function(self.method)

    def __call__(self, pa_w) -> AllocationResult:
        """Allocate budget ``pa_w`` (W, a finite number >= 0): ``plkg.allocate``'s result.

        Returns
        -------
        AllocationResult
            ``x_w`` [N_D] float64 (W), ``status``, ``objective`` (bits), method ``extras``.

        Raises
        ------
        PlkgTypeError, PlkgInputError
            A budget that is no number, or not finite and >= 0 (one line naming ``pa_w``); the
            method's own refusals (e.g. P_a = 0 for max-min) as ``plkg.allocate`` raises them.
        """
        return self._result(check_power_w(pa_w, "pa_w"))

    def _result(self, pa: float) -> AllocationResult:
        return self._function(self.design, pa, **self.options)

    @property
    def fast(self):
        """The method's online solver behind :meth:`x_w` (module docstring), or None.

        Built on first access. Its call signature is that of its own class (e.g.
        :class:`~plkg.solvers.water_filling_bound.BoundWaterFilling`); :meth:`x_w` is the one
        interface common to every method.
        """
        if self._fast is _UNBUILT:
            self._fast = self._make_fast()
        return self._fast

    def _make_fast(self):
        return None

    def x_w(self, pa_w) -> np.ndarray:
        """The allocation alone by the online path (module docstring).

        Parameters
        ----------
        pa_w : float or array_like [B], watt
            One budget P_a or a 1-D batch of budgets, finite and >= 0 (the method's domain).

        Returns
        -------
        ndarray [N_D] or [B, N_D], float64, watt
            The power of every subchannel for each budget.

        Raises
        ------
        PlkgTypeError, PlkgInputError, ValueError
            A budget outside the method's domain (one line), as the online solver words it.
        """
        if type(pa_w) is float:
            # (the cheap test first: the online path's budget check costs more than its solve)
            return self._x_one(pa_w if 0.0 <= pa_w < math.inf else check_power_w(pa_w, "pa_w"))
        if np.ndim(pa_w) == 0:
            return self._x_one(check_power_w(pa_w, "pa_w"))
        pa = check_real_array(pa_w, "pa_w", ndim=1, nonnegative=True, unit="W")
        if pa.size == 0:
            return np.zeros((0, self.design.n_total))
        return self._x_many(pa)

    def _x_one(self, pa: float) -> np.ndarray:
        return self(pa).x_w

    def _x_many(self, pa: np.ndarray) -> np.ndarray:
        return np.stack([self._x_one(p) for p in pa.tolist()])

    def __repr__(self) -> str:
        d = self.design
        return (
            f"<plkg.bind({self.method!r}) on {d.n_total} subchannels of {d.n_users} UEs, "
            f"options {sorted(self.options)}>"
        )


class _BoundWFPA(BoundMethod):
    """``wfpa``: calls by the validating water-filling; ``fast`` the bound one (Eq. (48))."""

    def _make_fast(self):
        from plkg.solvers.water_filling import DEFAULT_MAX_ITER, DEFAULT_RTOL
        from plkg.solvers.water_filling_bound import BoundWaterFilling

        return BoundWaterFilling.from_design(
            self.design,
            rtol=self.options.get("rtol", DEFAULT_RTOL),
            max_iter=self.options.get("max_iter", DEFAULT_MAX_ITER),
        )

    def _x_one(self, pa: float) -> np.ndarray:
        return self.fast(pa).x_w

    def _x_many(self, pa: np.ndarray) -> np.ndarray:
        return self.fast.solve(pa)[0]


class _BoundFNNPA(BoundMethod):
    """``fnnpa``: the checkpoint loaded and bound once; calls and ``fast`` share its kernel."""

    def _prepare(self) -> None:
        from plkg.inference.allocator import DEFAULT_CHECKPOINT, bind_fnnpa

        self._path = self.options.get("checkpoint") or DEFAULT_CHECKPOINT
        self.allocator = bind_fnnpa(self.design, self._path, self.options)

    def _result(self, pa: float) -> AllocationResult:
        from plkg.inference.allocator import fnnpa_result

        return fnnpa_result(self.allocator, self._path, pa)

    def _make_fast(self):
        from plkg.inference.fast_allocator import FastFNNPA

        return FastFNNPA(self.allocator)

    def _x_one(self, pa: float) -> np.ndarray:
        return self.fast(pa).x_w

    def _x_many(self, pa: np.ndarray) -> np.ndarray:
        return self.fast.allocation(pa)[1]


class _BoundFNNPAKF(BoundMethod):
    """``fnnpakf``: the checkpoint loaded and bound once; ``fast`` for mapping ``appro``."""

    def _prepare(self) -> None:
        from plkg.inference.fairness_allocator import (
            DEFAULT_CHECKPOINT,
            bind_fnnpakf,
            fnnpakf_mapping,
        )

        self._mapping, self._spend = fnnpakf_mapping(self.options)
        self._path = self.options.get("checkpoint") or DEFAULT_CHECKPOINT
        self.allocator = bind_fnnpakf(self.design, self._path, self.options)

    def _result(self, pa: float) -> AllocationResult:
        from plkg.inference.fairness_allocator import fnnpakf_result

        return fnnpakf_result(self.allocator, self._path, self._mapping, self._spend, pa)

    def _make_fast(self):
        if self._mapping != "appro":
            return None
        from plkg.inference.fast_allocator import FastFNNPAKF

        return FastFNNPAKF(self.allocator)

    def _x_one(self, pa: float) -> np.ndarray:
        if self.fast is None:
            return self._x_many(np.array([pa]))[0]
        return self.fast(pa).x_w

    def _x_many(self, pa: np.ndarray) -> np.ndarray:
        if self.fast is None:
            return self.allocator.allocation(pa, self._mapping, self._spend).x_w
        return self.fast.allocation(pa)[1]


class _BoundExactMaxMin(BoundMethod):
    """``exact-maxmin``: calls by the registry's solver; ``fast`` the bound exact max-min."""

    def _make_fast(self):
        from plkg.solvers.maxmin_bound import BoundMaxMin

        return BoundMaxMin.from_design(
            self.design,
            rtol=float(self.options.get("rtol", 1e-12)),
            max_iter=int(self.options.get("max_joint_iter", 60)),
        )

    def _x_one(self, pa: float) -> np.ndarray:
        from plkg.solvers.maxmin_lexicographic import T_RTOL, canonical_from_maxmin

        fast = self.fast
        t_rtol = max(T_RTOL, fast.rtol)  # as the registry: a looser stage 1, a coarser stage 2
        return canonical_from_maxmin(fast.exact, pa, fast(pa), t_rtol=t_rtol).x_w


class _BoundGeneral(BoundMethod):
    """``fnnpa-general`` / ``fnnpakf-general``: the set allocator loaded once; it is ``fast``."""

    def _prepare(self) -> None:
        from plkg.inference.general_methods import bind_general

        self.allocator = bind_general(self.method, self.options)

    def _result(self, pa: float) -> AllocationResult:
        from plkg.inference.general_methods import general_result

        return general_result(self.allocator, self.design, pa, self.method, self.options)

    def _make_fast(self):
        return self.allocator

    def _x_one(self, pa: float) -> np.ndarray:
        return self._x_many(np.array([pa]))[0]

    def _x_many(self, pa: np.ndarray) -> np.ndarray:
        from plkg.inference.general_methods import general_options

        budget, steps = general_options(self.method, self.options)
        d = self.design
        return self.allocator.allocation(
            d.m_a,
            d.m_b,
            d.user,
            d.n_users,
            pa,
            budget,
            steps,
            fallback=self.options.get("fallback", True),
            method=self.method,
        ).x_w


class _BoundInterp(BoundMethod):
    """``interp``: the interpolator fitted and checked against the design once."""

    def _prepare(self) -> None:
        from plkg.inference.interp_allocator import bind_interp

        self.interpolator = bind_interp(self.design, "mu", self.options)

    def _result(self, pa: float) -> AllocationResult:
        from plkg.inference.interp_allocator import interp_result

        return interp_result(self.interpolator, self.design, pa, self.options)


class _BoundInterpKF(BoundMethod):
    """``interpkf``: the interpolator and the exact least-power solver prepared once."""

    def _prepare(self) -> None:
        from plkg.inference.interp_allocator import bind_interp
        from plkg.solvers.maxmin_exact import ExactMaxMin

        d = self.design
        self.interpolator = bind_interp(d, "t", self.options)
        self._solver = ExactMaxMin(d.m_a, d.m_b, d.user, d.n_users)

    def _result(self, pa: float) -> AllocationResult:
        from plkg.inference.interp_allocator import interpkf_result

        return interpkf_result(self.interpolator, self._solver, self.design, pa, self.options)


# Methods with bound state; every other method of ALLOCATION_METHODS binds as BoundMethod.
_BOUND_CLASSES: dict[str, type[BoundMethod]] = {
    "wfpa": _BoundWFPA,
    "fnnpa": _BoundFNNPA,
    "fnnpakf": _BoundFNNPAKF,
    "exact-maxmin": _BoundExactMaxMin,
    "fnnpa-general": _BoundGeneral,
    "fnnpakf-general": _BoundGeneral,
    "interp": _BoundInterp,
    "interpkf": _BoundInterpKF,
}


def bind(method: str, design, **options) -> BoundMethod:
    """Bind allocation ``method`` to ``design``: validate and load once, allocate per call.

    The online counterpart of :func:`plkg.allocate` (same methods, options and checkpoints):
    ``bind(method, design, **options)(pa_w)`` returns what ``plkg.allocate(method, design, pa_w,
    **options)`` returns, bit for bit, while the checks of the method, the design and the options
    and the loading of a checkpoint (and its fingerprint check against ``scenario``) happen here,
    once.

    Parameters
    ----------
    method : str
        A key of :data:`plkg.inference.methods.ALLOCATION_METHODS` (``"wfpa"``, ``"fnnpa"``,
        ``"exact-maxmin"``, ...).
    design : SubchannelDesign
        From :func:`plkg.design_for_scenario`; the bound object serves this design only.
    **options
        The method's options (:data:`plkg.inference.methods.METHOD_OPTIONS`, e.g. ``checkpoint``
        for ``fnnpa``, default the committed one) and the common ``scenario``,
        ``allow_extrapolation``, ``backend``.

    Returns
    -------
    BoundMethod
        ``bound(pa_w)`` -> :class:`~plkg.solvers.allocation.AllocationResult` (``pa_w`` in W);
        ``bound.x_w(pa_w)`` -> the allocation [N_D] or [B, N_D] (W) by the online solver
        ``bound.fast`` (module :mod:`plkg.inference.bind`).

    Raises
    ------
    PlkgTypeError
        A wrong type (``design`` a str, ...) or an unknown option.
    PlkgInputError
        An unknown method, an option value outside its domain, a checkpoint of another scenario
        or label (as :func:`plkg.allocate` raises them).

    Examples
    --------
    >>> import plkg
    >>> design = plkg.design_for_scenario(plkg.load_scenario("fig6"))
    >>> wf = plkg.bind("wfpa", design)
    >>> [round(float(wf(p).x_w.sum()) * 1e3, 6) for p in (1e-3, 1e-2)]  # mW: the whole budget
    [1.0, 10.0]
    """
    check_method(method)
    check_instance(
        design, SubchannelDesign, "design", "a SubchannelDesign (from plkg.design_for_scenario)"
    )
    check_method_options(method, options, call="bind()")
    return _BOUND_CLASSES.get(method, BoundMethod)(method, design, options)


__all__ = ["BoundMethod", "bind"]
