"""Block-diagonalisation precoding and subchannel extraction, Section IV of the near-field paper.

Pipeline: null space of the other UEs' CCMs by SVD (Eq. (16)) -> R_hk (Eq. (19)) -> EVD (Eq. (20))
-> directions U_sk = V0_k U_hk and per-subchannel constants m_a, m_b (Eq. (42)) -> for a power
allocation {x_{k,j}}, the effective precoder P_{e,k} = U_sk diag(sqrt(x_k)) (Eq. (39)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg.channels.covariance import check_ccm
from plkg.channels.nearfield_scenario import NearFieldScenario
from plkg.checks import (
    PlkgTypeError,
    check_choice,
    check_flag,
    check_instance,
    check_integer,
    check_number,
    check_real_array,
    describe,
)
from plkg.errors import NoSubchannelError, PlkgInputError
from plkg.progress import STAGE_LINES_FROM_N, step

# Version of the design algorithm below; part of the design-cache key, so a change here (or in the
# scenario defaults it reads) can never be answered from an old cache entry.
DESIGN_VERSION = 3  # 3: the CCM's scatterer sum is a BLAS product (last-bit changes)

DEFAULT_CUT_WINDOW = 10.0

# subchannel_count="literal" keeps every null-space direction (D_k = N - r_k, text after Eq. (16)),
# including directions whose eigenvalue lambda_hk,j is zero up to round-off (or slightly negative).
# Their lambda is clamped to this floor times tr(R_k) - the relative round-off level of a float64
# eigendecomposition - so m_a, m_b = sigma^2/(. lambda) of Eq. (42) stay finite and positive
# (astronomically large: such a subchannel gets no power). See docs/assumptions.md.
LITERAL_LAMBDA_FLOOR_RTOL = 1e-15
SUBCHANNEL_COUNTS = ("energy", "literal")


def spectral_cut(values, threshold: float, window: float = DEFAULT_CUT_WINDOW) -> int:
    """How many leading entries of a descending spectrum are signal, cut at its widest gap near a threshold.

    A fixed threshold on a smoothly decaying spectrum (the near-field CCMs decay by about one decade
    per eigenvalue, with no natural gap) can sit next to an eigenvalue, which then flips in or out
    under round-off (another CPU, another BLAS thread count). The cut is therefore placed in the
    widest gap, on a log scale, between consecutive values that overlaps ``[threshold/window,
    threshold*window]``; an entry must move by the gap's ratio (typically 10x) to change sides.
    See ``docs/assumptions.md`` (Eqs. (16) and (20) of the near-field paper).

    Parameters
    ----------
    values : array_like, shape [n], float64
        Non-negative spectrum (eigenvalues or singular values) in decreasing order; tiny negative
        round-off values count as zero.
    threshold : float
        Nominal cut, in the units of ``values``; > 0.
    window : float
        Factor > 1 around ``threshold`` in which the cut may move to the widest gap.

    Returns
    -------
    int
        Number of leading entries kept (0..n). All kept entries exceed ``threshold/window``, all
        dropped ones are below ``threshold*window``.
    """
    v = np.asarray(values, dtype=np.float64)
    if not (threshold > 0 and window > 1):
        raise ValueError(
            f"spectral_cut needs threshold > 0 and window > 1, got {threshold}, {window}"
        )
    if v.size == 0:
        return 0
    lo, hi = threshold / window, threshold * window
    # Values far under the window count as exact zeros (round-off can make them 0 or negative).
    floor = lo * 1e-6
    # ext[c] | ext[c + 1] is the cut that keeps c entries (c = 0..n); the ends are virtual.
    ext = np.concatenate(([np.inf], np.maximum(v, floor), [floor]))
    kept_side, dropped_side = ext[:-1], ext[1:]
    allowed = (kept_side >= lo) & (dropped_side <= hi)
    if not np.any(allowed):
        # The window lies inside one gap-free stretch only if the spectrum is empty there.
        return int(np.sum(v >= hi))
    ratios = np.where(allowed, kept_side / dropped_side, 0.0)
    return int(np.argmax(ratios))


def normalized_energy(ccm_k: np.ndarray) -> float:
    """tr(R_k) = E||h_k||^2, the UE's channel energy (Eq. (4)), the scale of its thresholds."""
    return float(np.real(np.trace(ccm_k)))


def null_space_basis(
    ccm: np.ndarray, k: int, rtol: float, window: float = DEFAULT_CUT_WINDOW
) -> np.ndarray:
    """Orthonormal basis V0_k of the null space of B_k = [R_1; ...; R_{k-1}; R_{k+1}; ...; R_K].

    Eq. (16) of the near-field paper. Each block is divided by its own energy tr(R_j), so every
    other UE is protected to the same relative level ``rtol`` of its own channel energy (a weak
    UE is not drowned by a strong one); the rank is cut by :func:`spectral_cut` at the widest gap
    of the singular values within a factor ``window`` of ``rtol``.

    Parameters
    ----------
    ccm : ndarray, shape [K, N, N], complex128
    k : int
        UE index (0-based).
    rtol : float
        Interference a null-space direction may still carry into another UE, relative to that
        UE's channel energy (nominal; the cut moves to the nearest wide gap).
    window : float
        See :func:`spectral_cut`.

    Returns
    -------
    ndarray, shape [N, D0_k], complex128
        Columns span {v : R_{k'} v = 0 for all k' != k}; D0_k = N - rank(B_k).

    Raises
    ------
    ValueError
        If the null space is empty (N too small for K, or overlapping UEs).
    """
    n_users, n_antennas, _ = ccm.shape
    others = [ccm[j] / normalized_energy(ccm[j]) for j in range(n_users) if j != k]
    if not others:
        return np.eye(n_antennas, dtype=np.complex128)
    stacked = np.concatenate(others, axis=0)
    _, sv, vh = np.linalg.svd(stacked, full_matrices=True)
    rank = spectral_cut(sv, rtol, window)
    if rank >= n_antennas:
        raise ValueError(
            f"empty null space for UE {k + 1}: the other UEs' CCMs have full rank {rank} = N "
            f"(N = {n_antennas} antennas is too small for K = {n_users} UEs, or the UEs overlap); "
            "raise N or null_space_rtol"
        )
    return vh[rank:].conj().T


@dataclass(frozen=True)
class SubchannelDesign:
    """Extracted subchannels of all UEs (Section IV of the near-field paper).

    Subchannels are flattened UE by UE: entries ``user == k`` belong to UE k, in decreasing order
    of channel eigenvalue. ``N_D = sum_k D_k``.

    Attributes
    ----------
    ccm : ndarray [K, N, N] complex128
        The CCMs the design was made for.
    null_bases : tuple of ndarray [N, D0_k]
        V0_k of Eq. (16).
    directions : tuple of ndarray [N, D_k]
        U_sk = V0_k U_hk of Eq. (39) (unit-norm, orthonormal columns).
    lambda_h : ndarray [N_D] float64
        Channel eigenvalues lambda_{hk,j} of Eq. (20) (W per unit gain, i.e. linear power gain).
    user : ndarray [N_D] int64
        Owner UE of each subchannel.
    m_a, m_b : ndarray [N_D] float64, watt
        m_{a,k,j} = sigma_a^2/(Q P_b lambda_hk,j), m_{b,k,j} = sigma_b^2/(L lambda_hk,j), Eq. (42).
    sigma2_a_hat_w, sigma2_b_hat_w : float
        Estimation noise powers sigma_a^2/(Q P_b) (Eq. (11)) and sigma_b^2/L (Eq. (8)).
    downlink_pilot_len, uplink_pilot_len : int
        L and Q.
    """

    ccm: np.ndarray
    null_bases: tuple
    directions: tuple
    lambda_h: np.ndarray
    user: np.ndarray
    m_a: np.ndarray
    m_b: np.ndarray
    sigma2_a_hat_w: float
    sigma2_b_hat_w: float
    downlink_pilot_len: int
    uplink_pilot_len: int

    def __post_init__(self) -> None:
        # Shapes and signs only (no decomposition): a design is built by design_subchannels or
        # read from the cache, and a hand-made one must not fail later with an IndexError.
        ccm = self.ccm
        if not (isinstance(ccm, np.ndarray) and ccm.ndim == 3 and ccm.shape[1] == ccm.shape[2]):
            raise PlkgTypeError(
                f"SubchannelDesign: ccm must be an ndarray [K, N, N], got {describe(ccm)}"
            )
        k = ccm.shape[0]
        for name in ("null_bases", "directions"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or len(value) != k:
                raise PlkgInputError(
                    f"SubchannelDesign: {name} must be a tuple of K = {k} arrays, got {describe(value)}"
                )
        n_d = sum(int(np.shape(d)[-1]) for d in self.directions)
        for name in ("lambda_h", "m_a", "m_b"):
            check_real_array(
                getattr(self, name), f"SubchannelDesign: {name}", ndim=1, size=n_d, positive=True
            )
        user = np.asarray(self.user)
        if (
            user.shape != (n_d,)
            or user.dtype.kind not in "iu"
            or (n_d and (user.min() < 0 or user.max() >= k))
        ):
            raise PlkgInputError(
                f"SubchannelDesign: user must be {n_d} integers in 0..{k - 1}, got {describe(self.user)}"
            )
        for name in ("sigma2_a_hat_w", "sigma2_b_hat_w"):
            check_number(getattr(self, name), f"SubchannelDesign: {name}", low=0.0, low_open=True)
        for name in ("downlink_pilot_len", "uplink_pilot_len"):
            check_integer(getattr(self, name), f"SubchannelDesign: {name}", low=1)

    @property
    def n_users(self) -> int:
        return self.ccm.shape[0]

    @property
    def n_antennas(self) -> int:
        return self.ccm.shape[1]

    @property
    def n_subchannels(self) -> tuple[int, ...]:
        """D_k per UE."""
        return tuple(int(d.shape[1]) for d in self.directions)

    @property
    def null_dims(self) -> tuple[int, ...]:
        """N - r_k per UE: dimension of the null space of Eq. (16)."""
        return tuple(int(v.shape[1]) for v in self.null_bases)

    @property
    def n_total(self) -> int:
        """N_D = sum_k D_k."""
        return int(self.user.shape[0])

    @property
    def n_symbols(self) -> int:
        """N_s = max_k D_k, the shortest symbol vector the design allows (text after Eq. (19))."""
        return max(self.n_subchannels)

    def check_allocation(self, x_w) -> np.ndarray:
        """Validate a power allocation x [..., N_D] (W): real, finite, non-negative, right length.

        None, str, bool and complex values are a :class:`plkg.checks.PlkgTypeError`; the others a
        ValueError naming the problem.
        """
        x = check_real_array(x_w, "x_w (allocation)", finite=False, unit="W")
        if x.shape[-1:] != (self.n_total,):
            raise PlkgInputError(
                f"x_w (allocation) must have last dimension N_D = {self.n_total}, got shape {x.shape}"
            )
        if not np.all(np.isfinite(x)):
            raise PlkgInputError("x_w (allocation) contains NaN or inf")
        if np.any(x < 0):
            raise PlkgInputError(
                f"x_w (allocation) has negative power (min {x.min():.3e} W); powers must be >= 0"
            )
        return x

    def split(self, values) -> list[np.ndarray]:
        """Split a per-subchannel vector [..., N_D] into a list of K arrays [..., D_k]."""
        if values is None or isinstance(values, (str, bytes)):
            raise PlkgTypeError(f"values must be an array [..., N_D], got {describe(values)}")
        values = np.asarray(values)
        if values.shape[-1:] != (self.n_total,):
            raise PlkgInputError(
                f"values must have last dimension N_D = {self.n_total}, got shape {values.shape}"
            )
        bounds = np.cumsum((0,) + self.n_subchannels)
        return [values[..., bounds[k] : bounds[k + 1]] for k in range(self.n_users)]

    def precoders(self, x_w) -> list[np.ndarray]:
        """Effective precoders P_{e,k} = U_sk Lambda_hk^{-1/2} Lambda_k = U_sk diag(sqrt(x_k)), Eq. (39).

        Parameters
        ----------
        x_w : array_like, shape [N_D], float64, watt
            Power allocation x_{k,j} = lambda_{k,j}/lambda_{hk,j}; ||P_{e,k}||_F^2 = sum_j x_{k,j} (Eq. (43)).

        Returns
        -------
        list of K ndarrays, shape [N, D_k], complex128
        """
        x = self.check_allocation(x_w)
        if x.ndim != 1:
            raise ValueError("precoders() takes one allocation of shape [N_D]")
        return [
            u * np.sqrt(xk)[None, :] for u, xk in zip(self.directions, self.split(x), strict=True)
        ]

    def padded_precoders(self, x_w, n_symbols: int | None = None) -> np.ndarray:
        """P_k = [P_{e,k}, 0] zero-padded to N_s columns (Section IV-A), shape [K, N, N_s] complex128."""
        n_s = self.n_symbols if n_symbols is None else check_integer(n_symbols, "n_symbols", low=1)
        if n_s < self.n_symbols:
            raise ValueError(f"N_s = {n_s} is smaller than max_k D_k = {self.n_symbols}")
        out = np.zeros((self.n_users, self.n_antennas, n_s), dtype=np.complex128)
        for k, p in enumerate(self.precoders(x_w)):
            out[k, :, : p.shape[1]] = p
        return out

    def uplink_precoders(self) -> list[np.ndarray]:
        """P_{u,k} = V0_k U_hk, Eq. (29): the directions without power scaling, [N, D_k] each."""
        return [u.copy() for u in self.directions]

    def channel_eigenvalues(self) -> list[np.ndarray]:
        """lambda_{hk,j} per UE, list of [D_k]."""
        return self.split(self.lambda_h)


def design_subchannels(
    ccm,
    noise_bs_w: float,
    noise_ue_w: float,
    ue_power_w: float,
    downlink_pilot_len: int | None = None,
    uplink_pilot_len: int = 1,
    null_space_rtol: float = 1e-9,
    subchannel_rtol: float = 1e-7,
    cut_window: float = DEFAULT_CUT_WINDOW,
    subchannel_count: str = "energy",
) -> SubchannelDesign:
    """Interference-free, uncorrelated subchannels of every UE (Eqs. (16), (19), (20), (42)).

    Parameters
    ----------
    ccm : array_like, shape [K, N, N], complex
        CCMs R_k (Eq. (4)); validated (Hermitian, PSD, finite).
    noise_bs_w, noise_ue_w : float
        sigma_a^2 and sigma_b^2 in W.
    ue_power_w : float
        P_b in W.
    downlink_pilot_len : int or None
        L; ``None`` uses L = N_s = max_k D_k. Must satisfy L >= max_k D_k.
    uplink_pilot_len : int
        Q >= 1.
    null_space_rtol, subchannel_rtol, cut_window : float
        See :class:`plkg.channels.nearfield_scenario.NearFieldScenario`: both tolerances are
        relative to each UE's own channel energy tr(R_k), and each cut sits in the widest spectral
        gap within a factor ``cut_window`` (:func:`spectral_cut`), so the subchannel set and the
        constants m_a, m_b do not depend on round-off.
    subchannel_count : {"energy", "literal"}
        ``"energy"``: D_k = eigen-directions above ``subchannel_rtol``. ``"literal"``: D_k = N - r_k,
        every direction of the null space (text after Eq. (16)); lambda_hk,j is clamped to
        ``LITERAL_LAMBDA_FLOOR_RTOL * tr(R_k)`` so m_a, m_b stay finite. With
        ``downlink_pilot_len=None``, L = max_k D_k follows the count.

    Raises
    ------
    ValueError
        Bad CCM, non-positive noise/power, an empty null space, a UE without any subchannel, or a
        downlink pilot shorter than N_s.
    """
    if ccm is None or isinstance(ccm, (str, bytes, bool)):
        raise PlkgTypeError(f"ccm must be an array [K, N, N] of CCMs, got {describe(ccm)}")
    ccm = check_ccm(ccm)
    for name, value in (
        ("noise_bs_w", noise_bs_w),
        ("noise_ue_w", noise_ue_w),
        ("ue_power_w", ue_power_w),
    ):
        check_number(value, name, low=0.0, low_open=True, unit="W")
    uplink_pilot_len = check_integer(uplink_pilot_len, "uplink_pilot_len Q", low=1)
    if downlink_pilot_len is not None:
        downlink_pilot_len = check_integer(downlink_pilot_len, "downlink_pilot_len L", low=1)
    for name, value in (("null_space_rtol", null_space_rtol), ("subchannel_rtol", subchannel_rtol)):
        check_number(value, name, low=0.0, high=1.0, low_open=True, high_open=True)
    check_number(cut_window, "cut_window", low=1.0, high=1e6, low_open=True, high_open=True)
    check_choice(subchannel_count, SUBCHANNEL_COUNTS, "subchannel_count")
    null_bases, directions, lambdas, users = [], [], [], []
    n_users, n_antennas = ccm.shape[0], ccm.shape[1]
    for k in range(n_users):
        if n_antennas >= STAGE_LINES_FROM_N:  # one SVD of [(K-1) N, N] per UE: seconds each
            step(
                f"[design] null space and subchannels of UE {k + 1}/{n_users} (N = {n_antennas}) ..."
            )
        v0 = null_space_basis(ccm, k, null_space_rtol, cut_window)
        r_hk = v0.conj().T @ ccm[k] @ v0  # Eq. (19)
        lam, vec = np.linalg.eigh(0.5 * (r_hk + r_hk.conj().T))  # Eq. (20)
        lam, vec = lam[::-1], vec[:, ::-1]
        n_keep = spectral_cut(lam, subchannel_rtol * normalized_energy(ccm[k]), cut_window)
        if subchannel_count == "literal" and n_keep > 0:
            n_keep = lam.size
            lam = np.maximum(lam, LITERAL_LAMBDA_FLOOR_RTOL * normalized_energy(ccm[k]))
        keep = np.arange(lam.size) < n_keep
        if not np.any(keep):
            raise NoSubchannelError(
                f"UE {k + 1} has no subchannel: its channel has no energy in the null space of the other "
                "UEs' CCMs (D_k = 0); move the UEs apart or increase N",
                user=k,
            )
        null_bases.append(v0)
        directions.append(v0 @ vec[:, keep])
        lambdas.append(lam[keep])
        users.append(np.full(int(keep.sum()), k, dtype=np.int64))
    d_max = max(d.shape[1] for d in directions)
    if downlink_pilot_len is None:
        downlink_pilot_len = d_max
    if int(downlink_pilot_len) != downlink_pilot_len or downlink_pilot_len < d_max:
        raise ValueError(
            f"downlink_pilot_len L = {downlink_pilot_len} must be an integer >= N_s = max_k D_k = {d_max}"
        )
    lambda_h = np.concatenate(lambdas)
    s2a = noise_bs_w / (uplink_pilot_len * ue_power_w)
    s2b = noise_ue_w / downlink_pilot_len
    return SubchannelDesign(
        ccm=ccm,
        null_bases=tuple(null_bases),
        directions=tuple(directions),
        lambda_h=lambda_h,
        user=np.concatenate(users),
        m_a=s2a / lambda_h,
        m_b=s2b / lambda_h,
        sigma2_a_hat_w=float(s2a),
        sigma2_b_hat_w=float(s2b),
        downlink_pilot_len=int(downlink_pilot_len),
        uplink_pilot_len=int(uplink_pilot_len),
    )


def design_for_scenario(scenario: NearFieldScenario, ccm=None, cache=None) -> SubchannelDesign:
    """:func:`design_subchannels` with every parameter taken from a scenario.

    ``ccm=None`` uses the scenario's Monte-Carlo CCM (:func:`plkg.channels.nearfield.scenario_ccm`)
    and goes through the design cache (:mod:`plkg.precoding.design_cache`): the CCM and design of
    a scenario are computed once per machine. ``cache=False`` (or ``$PLKG_NO_CACHE=1``) computes
    them afresh. A given ``ccm`` is never cached.

    Parameters
    ----------
    scenario : NearFieldScenario
        From :func:`plkg.load_scenario` or built directly.
    ccm : array_like [K, N, N] complex, optional
        CCMs to use instead of the scenario's; K must equal ``scenario.n_users``.
    cache : bool or None
        ``None`` follows ``$PLKG_NO_CACHE``; True/False force it.

    Raises
    ------
    PlkgTypeError
        ``scenario`` is not a NearFieldScenario, ``cache`` not a bool or None.
    """
    check_instance(
        scenario, NearFieldScenario, "scenario", "a NearFieldScenario (from plkg.load_scenario)"
    )
    if cache is not None:
        check_flag(cache, "cache")
    if ccm is None:
        from plkg.precoding.design_cache import cached_design

        return cached_design(scenario, cache=cache)
    if ccm is None or isinstance(ccm, (str, bytes, bool)):
        raise PlkgTypeError(f"ccm must be an array [K, N, N] of CCMs, got {describe(ccm)}")
    if np.ndim(ccm) != 3 or np.shape(ccm)[0] != scenario.n_users:
        raise PlkgInputError(
            f"ccm must have shape [K, N, N] with K = {scenario.n_users} (the scenario's UEs), "
            f"got shape {np.shape(ccm)}"
        )
    return compute_design(scenario, ccm)


def compute_design(scenario: NearFieldScenario, ccm=None) -> SubchannelDesign:
    """The design of a scenario computed afresh (no cache); ``ccm=None`` computes its CCM."""
    if ccm is None:
        from plkg.channels.nearfield import scenario_ccm

        ccm = scenario_ccm(scenario)
    return design_subchannels(
        ccm,
        noise_bs_w=scenario.noise_bs_w,
        noise_ue_w=scenario.noise_ue_w,
        ue_power_w=scenario.ue_power_w,
        downlink_pilot_len=scenario.downlink_pilot_len,
        uplink_pilot_len=scenario.uplink_pilot_len,
        null_space_rtol=scenario.null_space_rtol,
        subchannel_rtol=scenario.subchannel_rtol,
        cut_window=scenario.cut_window,
        subchannel_count=scenario.subchannel_count,
    )
