"""Monte-Carlo simulation of the channel probing rounds of the RIS paper, Eqs. (2)-(6).

Each round draws fresh channels h_{i,j} = h^d_{i,j} + H^r_{i,j} v (Eq. (1), one coherence time
per round, Remark 1) and simulates

* downlink (Eqs. (2)-(3)): BS i sends P_i^T X (X X^H = I_{M_e}); UT k receives
  r_k^T = sum_i h_{i,k}^T P_i^T X + n_k^T and forms the LS estimate y_k = X^* r_k;
* uplink (Eqs. (4)-(6)): every UT sends sqrt(p_u) s (``abs(s) = 1``); BS k receives
  r_k^u = sqrt(p_u) sum_j h_{k,j} s + n_k^u, forms z_tilde_k = s^* r_k^u and z_k = P_k z_tilde_k.

Noise is unit variance (all channels are noise-normalised). ``fading`` chooses how channels are
drawn:

* ``"gaussian"``: h_{i,j} ~ CN(0, M_{i,j}(v)) independently per link, the model behind Theorem 1
  (so Theorem 1 is the exact mutual information of the simulated measurements);
* ``"cascaded"``: physical draw G_i diag(h^r_j) v with Rician links. The LoS parts carry an
  independent uniform phase per round for every BS i (on all of G_i = [G_{i,1}, ..., G_{i,L}]) and
  every UT j (on all of h^r_j), so R^r is the second moment used by the paper (LoS mean included,
  cross-RIS terms kept), different links are uncorrelated, and the covariances equal M_{i,j}(v);
  h_{i,j} is not Gaussian. With ``include_rician_mean=False`` the LoS parts are deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from plkg.channels.ris_multicell import (
    RISChannelModel,
    build_channel_model,
    cascaded_covariance,
    check_unit_modulus,
)
from plkg.channels.ris_scenario import RISScenario

FADING = ("gaussian", "cascaded")


@dataclass(frozen=True)
class RISProbingResult:
    """Measurements of ``n_rounds`` probing rounds.

    Attributes
    ----------
    alice : ndarray, complex128, shape [n_rounds, K, M_e]
        BS side: z_k = P_k z_tilde_k of Eq. (6) for every cell k (Alice = BS k).
    bob : ndarray, complex128, shape [n_rounds, K, M_e]
        UT side: y_k of Eq. (3) (Bob = UT k).
    bs_unprecoded : ndarray, complex128, shape [n_rounds, K, M]
        z_tilde_k of Eq. (5) (used by the upper bound of Theorem 2).
    fading : str
        ``gaussian`` or ``cascaded``.
    """

    alice: np.ndarray
    bob: np.ndarray
    bs_unprecoded: np.ndarray
    fading: str

    @property
    def bs(self) -> np.ndarray:
        """Alias of :attr:`alice`."""
        return self.alice

    @property
    def ut(self) -> np.ndarray:
        """Alias of :attr:`bob`."""
        return self.bob


def _cn(rng: np.random.Generator, shape) -> np.ndarray:
    """Standard circular complex Gaussian CN(0, 1) samples."""
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / math.sqrt(2.0)


def _draw_gaussian(model: RISChannelModel, phases: np.ndarray, n: int, rng) -> np.ndarray:
    import torch

    cov = cascaded_covariance(model, torch.as_tensor(phases, dtype=torch.complex128)).numpy()
    m = cov.shape[-1]
    # cov is PSD (R^d > 0 makes it PD); add a tiny jitter relative to its scale for Cholesky
    jitter = 1e-14 * np.trace(cov, axis1=-2, axis2=-1).real[..., None, None] / m * np.eye(m)
    chol = np.linalg.cholesky(cov + jitter)  # [K, K, M, M]
    w = _cn(rng, (n,) + cov.shape[:-1])  # [n, K, K, M]
    return np.einsum("ijmp,tijp->tijm", chol, w)


def _draw_cascaded(model: RISChannelModel, phases: np.ndarray, n: int, rng) -> np.ndarray:
    k, m, nl = model.g_bar.shape
    rd_chol = np.linalg.cholesky(model.rd)  # [K, K, M, M], R^d > 0
    h_d = np.einsum("ijmp,tijp->tijm", rd_chol, _cn(rng, (n, k, k, m)))
    if model.include_rician_mean:
        ph_g = np.exp(1j * rng.uniform(0, 2 * np.pi, (n, k, 1)))  # per BS, all RISs
        ph_h = np.exp(1j * rng.uniform(0, 2 * np.pi, (n, k, 1)))  # per UT, all RISs
    else:
        ph_g = np.ones((n, k, 1))
        ph_h = np.ones((n, k, 1))
    g = ph_g[:, :, None, :] * model.g_bar[None] + np.sqrt(model.g_var)[None, :, None, :] * _cn(
        rng, (n, k, m, nl)
    )
    h_r = ph_h * model.h_bar[None] + np.sqrt(model.h_var)[None] * _cn(rng, (n, k, nl))
    cascade = np.einsum("timn,tjn->tijm", g, h_r * phases)  # G_i diag(h_j) v
    return h_d + cascade


def simulate_ris_probing(
    scenario_or_model: RISScenario | RISChannelModel,
    precoders,
    phases,
    n_rounds: int,
    rng: np.random.Generator,
    *,
    fading: str = "gaussian",
    chunk: int = 2000,
) -> RISProbingResult:
    """Simulate ``n_rounds`` probing rounds (Eqs. (2)-(6)); see the module docstring.

    Parameters
    ----------
    scenario_or_model : RISScenario or RISChannelModel
        The system; a scenario is turned into its channel model.
    precoders : array-like, complex, shape [K, M_e, M]
        P_k (sqrt(W)), e.g. ``AOResult.precoders``.
    phases : array-like, complex, shape [NL]
        Unit-modulus v (``ValueError`` otherwise).
    n_rounds : int
        Number of probing rounds (independent coherence times), >= 1.
    rng : numpy Generator
        Source of all randomness (channels, noise, pilots).
    fading : {"gaussian", "cascaded"}
    chunk : int
        Rounds drawn at once (memory bound).

    Returns
    -------
    RISProbingResult
    """
    if isinstance(scenario_or_model, RISScenario):
        model = build_channel_model(scenario_or_model)
    elif isinstance(scenario_or_model, RISChannelModel):
        model = scenario_or_model
    else:
        raise ValueError("scenario_or_model must be a RISScenario or RISChannelModel")
    if fading not in FADING:
        raise ValueError(f"fading must be one of {FADING}, got {fading!r}")
    if int(n_rounds) != n_rounds or n_rounds < 1:
        raise ValueError(f"n_rounds must be a positive integer, got {n_rounds!r}")
    k, m, nl = model.g_bar.shape
    p = np.asarray(precoders.detach().cpu() if hasattr(precoders, "detach") else precoders)
    p = p.astype(np.complex128)
    v = np.asarray(phases.detach().cpu() if hasattr(phases, "detach") else phases)
    v = v.astype(np.complex128)
    if p.ndim != 3 or p.shape[0] != k or p.shape[2] != m or not (1 <= p.shape[1] <= m):
        raise ValueError(f"precoders must have shape [K={k}, M_e, M={m}], got {p.shape}")
    if v.shape != (nl,):
        raise ValueError(f"phases must have shape [NL] = [{nl}], got {v.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("precoders contain NaN or infinite entries")
    check_unit_modulus(v)
    me = p.shape[1]
    p_u = model.ut_power_w
    # Pilots: a random unitary X (M_e x M_e) and a unit-modulus uplink symbol s.
    q, r = np.linalg.qr(_cn(rng, (me, me)))
    x = q * (np.diagonal(r) / np.abs(np.diagonal(r)))
    s = np.exp(1j * rng.uniform(0, 2 * np.pi))
    alice, bob, z_tilde_all = [], [], []
    done = 0
    while done < n_rounds:
        n = min(chunk, n_rounds - done)
        if fading == "gaussian":
            h = _draw_gaussian(model, v, n, rng)
        else:
            h = _draw_cascaded(model, v, n, rng)
        # h[t, i, j] = h_{i,j}: BS i - UT j.
        dl = np.einsum("iem,tikm->tke", p, h)  # sum_i P_i h_{i,k}: [n, K, M_e]
        r_dl = np.einsum("ef,tkf->tke", x.T, dl) + _cn(rng, (n, k, me))  # r_k = X^T (.) + n
        y = np.einsum("ef,tkf->tke", x.conj(), r_dl)  # Eq. (3)
        r_ul = math.sqrt(p_u) * h.sum(axis=2) * s + _cn(rng, (n, k, m))  # Eq. (4)
        z_tilde = np.conj(s) * r_ul  # Eq. (5)
        z = np.einsum("kem,tkm->tke", p, z_tilde)  # Eq. (6)
        alice.append(z)
        bob.append(y)
        z_tilde_all.append(z_tilde)
        done += n
    return RISProbingResult(
        alice=np.concatenate(alice),
        bob=np.concatenate(bob),
        bs_unprecoded=np.concatenate(z_tilde_all),
        fading=fading,
    )
