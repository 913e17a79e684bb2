"""Block-diagonalisation precoding and subchannel extraction, Section IV of the near-field paper.

Pipeline: null space of the other UEs' CCMs by SVD (Eq. (16)) -> R_hk (Eq. (19)) -> EVD (Eq. (20))
-> directions U_sk = V0_k U_hk and per-subchannel constants m_a, m_b (Eq. (42)) -> for a power
allocation {x_{k,j}}, the effective precoder P_{e,k} = U_sk diag(sqrt(x_k)) (Eq. (39)).
"""

from __future__ import annotations

import numpy as np

from plkg.channels.covariance import check_ccm
from plkg.channels.nearfield_scenario import NearFieldScenario
from plkg.checks import (
    PlkgTypeError,
    check_choice,
    check_integer,
    check_number,
    describe,
)
from plkg.errors import NoSubchannelError
from plkg.precoding.subchannel_design import SubchannelDesign
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

    Returns
    -------
    SubchannelDesign
        The null-space bases, subchannel directions, eigenvalues and the constants m_a, m_b of
        Eq. (42) of every UE.

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
