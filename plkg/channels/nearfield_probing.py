"""Monte-Carlo simulation of multi-user channel probing, Eqs. (6)-(11) of the near-field paper.

Each round draws independent channels h_k ~ CN(0, R_k), sends the precoded downlink packet
S_d (L x N_s, S_d^H S_d = L I) and the uplink packet s_u (Q, s_u^H s_u = Q P_b), adds noise, and
returns both ends' LS estimates. The packets themselves are simulated (not only their
post-estimation noise), so the model's noise scaling sigma^2/L and sigma^2/(Q P_b) is checked too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg.channels.covariance import check_ccm


@dataclass(frozen=True)
class ProbingSamples:
    """Measurements of ``n_rounds`` independent probing rounds.

    Attributes
    ----------
    z_a : ndarray [n_rounds, K, N_s] complex128
        BS measurements z_{a_k} = P_k^H z_bar_a (Eq. (11)).
    z_b : ndarray [n_rounds, K, N_s] complex128
        UE measurements z_{b_k} (Eq. (8)).
    """

    z_a: np.ndarray
    z_b: np.ndarray


def ccm_factor(ccm: np.ndarray) -> np.ndarray:
    """F_k with F_k F_k^H = R_k (eigen-factor, negative round-off eigenvalues clipped), [K, N, N]."""
    lam, vec = np.linalg.eigh(ccm)
    return vec * np.sqrt(np.clip(lam, 0.0, None))[:, None, :]


def orthogonal_pilots(length: int, n_columns: int, rng: np.random.Generator) -> np.ndarray:
    """S_d [L, N_s] with S_d^H S_d = L I_{N_s} (random unitary columns scaled by sqrt(L))."""
    if length < n_columns:
        raise ValueError(f"downlink packet length L = {length} must be >= N_s = {n_columns}")
    g = rng.standard_normal((length, n_columns)) + 1j * rng.standard_normal((length, n_columns))
    q, _ = np.linalg.qr(g)
    return np.sqrt(length) * q


def _cn(rng: np.random.Generator, shape, power) -> np.ndarray:
    return np.sqrt(power / 2.0) * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def simulate_probing(
    ccm,
    precoders,
    noise_bs_w: float,
    noise_ue_w: float,
    ue_power_w: float,
    downlink_pilot_len: int,
    uplink_pilot_len: int,
    n_rounds: int,
    rng: np.random.Generator,
    chunk: int = 4096,
) -> ProbingSamples:
    """Simulate ``n_rounds`` rounds of the probing protocol of Section III.

    Parameters
    ----------
    ccm : array_like, shape [K, N, N], complex
        CCMs R_k; channels of different UEs are independent.
    precoders : array_like, shape [K, N, N_s], complex
        P_k (zero-padded as [P_{e,k}, 0] for the designed precoders).
    noise_bs_w, noise_ue_w : float
        sigma_a^2, sigma_b^2 (W).
    ue_power_w : float
        P_b (W).
    downlink_pilot_len, uplink_pilot_len : int
        L >= N_s and Q >= 1.
    n_rounds : int
        Number of independent coherence times.
    rng : numpy.random.Generator
    chunk : int
        Rounds simulated at once (memory bound).

    Returns
    -------
    ProbingSamples
    """
    ccm = check_ccm(ccm)
    precoders = np.asarray(precoders, dtype=np.complex128)
    n_users, n_antennas, _ = ccm.shape
    if precoders.ndim != 3 or precoders.shape[:2] != (n_users, n_antennas):
        raise ValueError(
            f"precoders must have shape [K, N, N_s] = [{n_users}, {n_antennas}, N_s], got {precoders.shape}"
        )
    if n_rounds < 1:
        raise ValueError("n_rounds must be >= 1")
    for name, v in (
        ("noise_bs_w", noise_bs_w),
        ("noise_ue_w", noise_ue_w),
        ("ue_power_w", ue_power_w),
    ):
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be positive and finite, got {v!r}")
    if uplink_pilot_len < 1:
        raise ValueError("uplink packet length Q must be >= 1")
    n_s = precoders.shape[2]
    s_d = orthogonal_pilots(downlink_pilot_len, n_s, rng)  # Eq. (6)
    s_u = np.sqrt(ue_power_w) * np.exp(
        2j * np.pi * rng.uniform(size=uplink_pilot_len)
    )  # s_u^H s_u = Q P_b
    factor = ccm_factor(ccm)
    p_sum = precoders.sum(axis=0)  # [N, N_s]
    z_a = np.empty((n_rounds, n_users, n_s), dtype=np.complex128)
    z_b = np.empty_like(z_a)
    for start in range(0, n_rounds, chunk):
        n = min(chunk, n_rounds - start)
        h = np.einsum("knm,skm->skn", factor, _cn(rng, (n, n_users, n_antennas), 1.0))  # [n, K, N]
        # Downlink, Eqs. (6)-(8): y_b = h^H (sum P) S_d^H + n_b; LS: z_bar = y_b S_d (S_d^H S_d)^-1.
        tx = p_sum @ s_d.conj().T  # [N, L]
        y_b = np.einsum("skn,nl->skl", h.conj(), tx) + _cn(
            rng, (n, n_users, downlink_pilot_len), noise_ue_w
        )
        z_bar_b = y_b @ s_d / downlink_pilot_len
        z_b[start : start + n] = z_bar_b.conj()
        # Uplink, Eqs. (9)-(11): Y_a = sum_k h_k s_u^H + N_a; z_bar_a = Y_a s_u / (s_u^H s_u).
        y_a = h.sum(axis=1)[:, :, None] * s_u.conj()[None, None, :] + _cn(
            rng, (n, n_antennas, uplink_pilot_len), noise_bs_w
        )
        z_bar_a = y_a @ s_u / np.real(s_u.conj() @ s_u)
        z_a[start : start + n] = np.einsum("knd,sn->skd", precoders.conj(), z_bar_a)
    return ProbingSamples(z_a=z_a, z_b=z_b)


def empirical_key_rate_bits(z_a: np.ndarray, z_b: np.ndarray) -> float:
    """Gaussian MI (bits) estimated from samples z_a [n, Da], z_b [n, Db] via sample covariances.

    Zero-variance dimensions (e.g. zero-padded precoder columns) are dropped first.
    """
    from plkg.keyrate.gaussian import gaussian_mi_bits

    z_a = z_a[:, np.mean(np.abs(z_a) ** 2, axis=0) > 0]
    z_b = z_b[:, np.mean(np.abs(z_b) ** 2, axis=0) > 0]
    n = z_a.shape[0]
    r_a = z_a.T @ z_a.conj() / n
    r_b = z_b.T @ z_b.conj() / n
    r_ab = z_a.T @ z_b.conj() / n
    return gaussian_mi_bits(r_a, r_b, r_ab)
