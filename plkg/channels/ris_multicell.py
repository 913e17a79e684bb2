r"""Channel statistics of the RIS-aided multi-cell system (Eq. (1) and Section V-A, RIS paper).

The cascaded channel of Eq. (1) is
:math:`\mathbf{h}_{i,j} = \mathbf{h}^d_{i,j} + \mathbf{H}^r_{i,j} \mathbf{v}` with
:math:`\mathbf{H}^r_{i,j} = \mathbf{G}_i \operatorname{diag}(\mathbf{h}^r_j)`,
:math:`\mathbf{G}_i = [\mathbf{G}_{i,1}, \dots, \mathbf{G}_{i,L}]` (M x NL) and
:math:`\mathbf{h}^r_j` (NL). Links: BS-UT Rayleigh, BS-RIS and RIS-UT Rician with factor
:math:`\beta`, path loss :math:`\zeta_0 d^{-\alpha}`.

:class:`RISChannelModel` stores the statistics in noise-normalised units (covariances divided
by the noise power, so they are in 1/W): R^d_{i,j} [K, K, M, M], the LoS means G_bar_i
[K, M, NL] and h_bar_j [K, NL], and the per-element scattered variances of G_i (``g_var``
[K, NL], every antenna of column n has variance g_var[i, n]) and of h^r_j (``h_var`` [K, NL]).

With this structure the RIS term of Eq. (12),

.. math::

    (\mathbf{v}^T \otimes \mathbf{I}_M) \mathbf{R}^r_{i,j} (\mathbf{v}^T \otimes \mathbf{I}_M)^H
    = \mathbb{E}\{\mathbf{H}^r_{i,j} \mathbf{v} \mathbf{v}^H (\mathbf{H}^r_{i,j})^H\},

has the exact cheap form (see :func:`cascaded_covariance`)

.. math::

    \mathbf{g} \mathbf{g}^H
    + \bar{\mathbf{G}}_i \operatorname{diag}(|\mathbf{v}|^2 \odot \mathbf{h}^\mathrm{var}_j)
      \bar{\mathbf{G}}_i^H
    + \sum_n |v_n|^2 g^\mathrm{var}_{i,n} \left(|\bar{h}_{j,n}|^2 + h^\mathrm{var}_{j,n}\right)
      \mathbf{I}_M,
    \qquad \mathbf{g} = \bar{\mathbf{G}}_i (\mathbf{v} \odot \bar{\mathbf{h}}_j),

which costs O(M^2 NL) instead of O((MNL)^2); :func:`explicit_ris_covariance` builds the full
MNL x MNL matrix R^r_{i,j} for tests on small sizes. We write v for the phase vector of Eq. (1);
the paper's variable is :math:`\bar{\mathbf{v}} = \mathbf{v}^*` (so
:math:`\bar{\mathbf{v}}^H \otimes \mathbf{I}_M = \mathbf{v}^T \otimes \mathbf{I}_M`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from plkg.channels.ris_scenario import RISScenario

DEFAULT_DTYPE = torch.complex128


def steering_vector(n: int, direction: np.ndarray, spacing_wavelengths: float) -> np.ndarray:
    """ULA response along the x-axis, a_m = exp(j 2 pi (d/lambda) m u_x), m = 0..n-1.

    Parameters
    ----------
    n : int
        Number of elements.
    direction : ndarray, shape [3]
        Unit vector from the array towards the other node (metres, normalised).
    spacing_wavelengths : float
        Element spacing d / lambda.
    """
    m = np.arange(n)
    return np.exp(2j * np.pi * spacing_wavelengths * m * float(direction[0]))


def ula_response(n: int, direction_cosine: float, spacing_wavelengths: float) -> np.ndarray:
    """ULA response a_m = exp(j 2 pi (d/lambda) m cos_axis), m = 0..n-1, shape [n] complex128.

    ``direction_cosine`` is u . axis, the cosine between the array axis and the direction towards
    the other node (sin of the angle from broadside); :func:`steering_vector` is the x-axis case.
    """
    return np.exp(2j * np.pi * spacing_wavelengths * np.arange(n) * float(direction_cosine))


class _LosCosines:
    """Direction cosines of the LoS responses: geometric (u . axis) or seeded random.

    ``"random"`` draws theta ~ U(-pi/2, pi/2) per endpoint in a fixed order (BS side then RIS
    side of every BS-RIS link, then RIS side of every RIS-UT link) from ``los_seed``.
    """

    def __init__(self, scenario: RISScenario):
        self.random = scenario.los_angles == "random"
        self.bs_axis, self.ris_axis = scenario.array_axes()
        k, l_ = scenario.n_cells, scenario.n_ris
        rng = np.random.default_rng(scenario.los_seed)
        theta = rng.uniform(-np.pi / 2, np.pi / 2, size=3 * k * l_)
        self.table = np.sin(theta).reshape(3, k, l_)

    def bs_ris(self, i: int, r: int, u: np.ndarray) -> tuple[float, float]:
        """(BS side, RIS side) cosines of link BS i -> RIS r, u the unit vector BS -> RIS."""
        if self.random:
            return float(self.table[0, i, r]), float(self.table[1, i, r])
        return float(u @ self.bs_axis), float(-u @ self.ris_axis)

    def ris_ut(self, j: int, r: int, u: np.ndarray) -> float:
        """RIS-side cosine of link RIS r -> UT j, u the unit vector RIS -> UT."""
        if self.random:
            return float(self.table[2, j, r])
        return float(u @ self.ris_axis)


def direct_correlation_matrix(m: int, kind: str = "iid", coeff: float = 0.0) -> np.ndarray:
    r"""Normalised spatial correlation T of the BS-UT link.

    The link's covariance is :math:`\mathbf{R}^d = \zeta_0 d^{-\alpha} \mathbf{T}`.

    ``"iid"``: :math:`\mathbf{T} = \mathbf{I}_M`. ``"exponential"``:
    :math:`T_{mn} = c^{|m-n|}` with :math:`c` = ``coeff`` (Toeplitz, unit diagonal, positive
    definite for :math:`0 \le c < 1`, :math:`\det \mathbf{T} = (1 - c^2)^{M-1}`).

    Parameters
    ----------
    m : int
        M, number of BS antennas.
    kind : {"iid", "exponential"}
        The correlation model.
    coeff : float
        c in [0, 1), the exponential model's correlation of neighbouring antennas.

    Returns
    -------
    ndarray, shape [M, M], float64
        T, dimensionless.

    Raises
    ------
    ValueError
        An unknown ``kind`` or ``coeff`` outside [0, 1).
    """
    if kind == "iid":
        return np.eye(m)
    if kind != "exponential":
        raise ValueError(f"direct_correlation must be 'iid' or 'exponential', got {kind!r}")
    if not 0 <= coeff < 1:
        raise ValueError(f"direct_correlation_coeff must lie in [0, 1), got {coeff!r}")
    idx = np.arange(m)
    return float(coeff) ** np.abs(idx[:, None] - idx[None, :]).astype(np.float64)


def _unit(vec: np.ndarray) -> tuple[np.ndarray, float]:
    dist = float(np.linalg.norm(vec))
    if not np.isfinite(dist) or dist <= 0:
        raise ValueError("bad geometry: zero link distance")
    return vec / dist, dist


@dataclass(frozen=True, eq=False)
class RISChannelModel:
    """Noise-normalised second-order channel statistics (see module docstring).

    Attributes
    ----------
    rd : ndarray, complex128, shape [K, K, M, M]
        R^d_{i,j} / sigma^2 (1/W), BS i - UT j direct link.
    g_bar : ndarray, complex128, shape [K, M, NL]
        LoS mean of G_i / sigma (1/sqrt(W)).
    g_var : ndarray, float64, shape [K, NL]
        Scattered variance of each entry of column n of G_i / sigma^2.
    h_bar : ndarray, complex128, shape [K, NL]
        LoS mean of h^r_j (dimensionless amplitude).
    h_var : ndarray, float64, shape [K, NL]
        Scattered variance of entry n of h^r_j.
    bs_power_w, ut_power_w : float
        P_A and the UT pilot power in watt.
    weights : ndarray, float64, shape [K]
        w_k of Eq. (10).
    n_rf_chains : int
        M_e.
    include_rician_mean : bool
        Whether R^r contains the LoS mean (paper's definition) or is centred.
    """

    rd: np.ndarray
    g_bar: np.ndarray
    g_var: np.ndarray
    h_bar: np.ndarray
    h_var: np.ndarray
    bs_power_w: float
    ut_power_w: float
    weights: np.ndarray
    n_rf_chains: int
    include_rician_mean: bool = True

    def __post_init__(self) -> None:
        k, _, m, m2 = self.rd.shape
        if m != m2 or self.rd.shape[1] != k:
            raise ValueError(f"rd must have shape [K, K, M, M], got {self.rd.shape}")
        if self.g_bar.shape[:2] != (k, m):
            raise ValueError(f"g_bar must have shape [K, M, NL], got {self.g_bar.shape}")
        nl = self.g_bar.shape[2]
        for name in ("g_var", "h_bar", "h_var"):
            if getattr(self, name).shape != (k, nl):
                raise ValueError(f"{name} must have shape [K, NL] = {(k, nl)}")
        if nl < 1:
            raise ValueError("need at least one RIS element (N = 0)")
        if not (1 <= self.n_rf_chains <= m):
            raise ValueError(f"n_rf_chains must be in [1, M={m}]")
        if self.bs_power_w < 0 or self.ut_power_w < 0:
            raise ValueError("powers must be non-negative")

    @property
    def n_cells(self) -> int:
        return self.rd.shape[0]

    @property
    def n_antennas(self) -> int:
        return self.rd.shape[2]

    @property
    def n_elements(self) -> int:
        """N L, total number of RIS elements."""
        return self.g_bar.shape[2]

    def without_ris(self) -> RISChannelModel:
        """The No-RIS baseline: all RIS-related channels set to zero (Section V-A)."""
        return RISChannelModel(
            rd=self.rd,
            g_bar=np.zeros_like(self.g_bar),
            g_var=np.zeros_like(self.g_var),
            h_bar=self.h_bar,
            h_var=self.h_var,
            bs_power_w=self.bs_power_w,
            ut_power_w=self.ut_power_w,
            weights=self.weights,
            n_rf_chains=self.n_rf_chains,
            include_rician_mean=self.include_rician_mean,
        )

    def tensors(self, device=None, dtype=DEFAULT_DTYPE) -> dict[str, torch.Tensor]:
        """The statistics as torch tensors on ``device`` (complex ``dtype``; real parts float)."""
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        return {
            "rd": torch.as_tensor(self.rd, dtype=dtype, device=device),
            "g_bar": torch.as_tensor(self.g_bar, dtype=dtype, device=device),
            "g_var": torch.as_tensor(self.g_var, dtype=real, device=device),
            "h_bar": torch.as_tensor(self.h_bar, dtype=dtype, device=device),
            "h_var": torch.as_tensor(self.h_var, dtype=real, device=device),
        }


def build_channel_model(scenario: RISScenario) -> RISChannelModel:
    """Channel statistics of ``scenario`` (Section V-A of the RIS paper), noise-normalised.

    Path loss zeta_0 d^-alpha (linear power), Rician split beta/(1+beta) LoS and 1/(1+beta)
    scattered power for BS-RIS and RIS-UT links, Rayleigh i.i.d. BS-UT links (R^d = zeta_0 d^-alpha
    I_M, or exponential correlation with ``direct_correlation="exponential"``). The LoS parts are ULA
    responses (:func:`ula_response`) along ``bs_array_axis_deg`` / ``ris_array_axis_deg`` (x-axis by
    default) with geometric or seeded random angles (``los_angles``).
    """
    s = scenario
    k, m, n, l_ = s.n_cells, s.n_antennas, s.n_ris_elements, s.n_ris
    zeta0 = float(10.0 ** (s.pathloss_ref_db / 10.0))
    noise = s.noise_w
    bs, ut, ris = s.bs_positions_m(), s.ut_positions_m(), s.ris_positions_m()
    los = s.rician_factor / (1.0 + s.rician_factor)
    nlos = 1.0 / (1.0 + s.rician_factor)

    cosines = _LosCosines(s)
    corr = direct_correlation_matrix(m, s.direct_correlation, s.direct_correlation_coeff)
    rd = np.zeros((k, k, m, m), dtype=np.complex128)
    for i in range(k):
        for j in range(k):
            _, d = _unit(ut[j] - bs[i])
            rd[i, j] = zeta0 * d ** (-s.alpha_bu) / noise * corr

    g_bar = np.zeros((k, m, n * l_), dtype=np.complex128)
    g_var = np.zeros((k, n * l_))
    for i in range(k):
        for r in range(l_):
            u, d = _unit(ris[r] - bs[i])
            gain = zeta0 * d ** (-s.alpha_br) / noise
            cos_bs, cos_ris = cosines.bs_ris(i, r, u)
            a_bs = ula_response(m, cos_bs, s.bs_spacing_wavelengths)
            a_ris = ula_response(n, cos_ris, s.ris_spacing_wavelengths)
            cols = slice(r * n, (r + 1) * n)
            g_bar[i, :, cols] = np.sqrt(gain * los) * np.outer(a_bs, a_ris)
            g_var[i, cols] = gain * nlos

    h_bar = np.zeros((k, n * l_), dtype=np.complex128)
    h_var = np.zeros((k, n * l_))
    for j in range(k):
        for r in range(l_):
            u, d = _unit(ut[j] - ris[r])
            gain = zeta0 * d ** (-s.alpha_ru)
            cols = slice(r * n, (r + 1) * n)
            a_ris = ula_response(n, cosines.ris_ut(j, r, u), s.ris_spacing_wavelengths)
            h_bar[j, cols] = np.sqrt(gain * los) * a_ris
            h_var[j, cols] = gain * nlos

    return RISChannelModel(
        rd=rd,
        g_bar=g_bar,
        g_var=g_var,
        h_bar=h_bar,
        h_var=h_var,
        bs_power_w=s.bs_power_w,
        ut_power_w=s.ut_power_w,
        weights=np.asarray(s.weights, dtype=np.float64),
        n_rf_chains=s.n_rf_chains,
        include_rician_mean=s.include_rician_mean,
    )


def check_unit_modulus(phases, atol: float = 1e-8) -> None:
    """Raise ``ValueError`` unless every :math:`|v_n| = 1` within ``atol`` (C2 of Eq. (10)).

    Parameters
    ----------
    phases : ndarray or Tensor, complex, shape [..., NL]
        RIS phase vectors v.
    atol : float
        Allowed deviation of :math:`|v_n|` from 1.

    Raises
    ------
    ValueError
        Some :math:`||v_n| - 1|` exceeds ``atol`` (or is not finite).
    """
    if isinstance(phases, torch.Tensor):
        phases = phases.detach().cpu().numpy()
    dev = np.abs(np.abs(np.asarray(phases)) - 1.0)
    dev = np.where(np.isfinite(dev), dev, np.inf)
    worst = float(dev.max()) if dev.size else 0.0
    if worst > atol:
        raise ValueError(
            f"phases must be unit-modulus (constraint C2): max ||v_n| - 1| = {worst:.3g} > {atol}"
        )


def cascaded_covariance(
    model: RISChannelModel | dict, phases: torch.Tensor, include_rician_mean: bool | None = None
) -> torch.Tensor:
    """M_{i,j}(v) of Eq. (12): R^d_{i,j} + (v^T (x) I_M) R^r_{i,j} (v^T (x) I_M)^H, all (i, j).

    Parameters
    ----------
    model : RISChannelModel or dict of tensors (from :meth:`RISChannelModel.tensors`)
        Noise-normalised statistics.
    phases : Tensor, complex, shape [..., NL]
        v (the paper's v_bar^*). Any modulus is accepted here (needed for Euclidean gradients).
    include_rician_mean : bool, optional
        Override of ``model.include_rician_mean`` (required when ``model`` is a dict; default True).

    Returns
    -------
    Tensor, complex, shape [..., K, K, M, M]
        Entry [..., i, j] is the covariance of h_{i,j} (BS i - UT j) in 1/W.
    """
    if isinstance(model, RISChannelModel):
        if include_rician_mean is None:
            include_rician_mean = model.include_rician_mean
        t = model.tensors(device=phases.device, dtype=phases.dtype)
    else:
        t = model
        if include_rician_mean is None:
            include_rician_mean = True
    g_bar, g_var, h_bar, h_var, rd = t["g_bar"], t["g_var"], t["h_bar"], t["h_var"], t["rd"]
    k, m, _ = g_bar.shape
    v = phases.unsqueeze(-2)  # [..., 1, NL]
    abs2 = (phases.real**2 + phases.imag**2).unsqueeze(-2)  # [..., 1, NL]
    # Scattered-BS-RIS part: sum_n |v_n|^2 g_var[i,n] (|h_bar[j,n]|^2 + h_var[j,n]) -> [..., K, K]
    h_pow = h_bar.real**2 + h_bar.imag**2 + h_var  # [K(j), NL]
    scal = torch.einsum("...n,in,jn->...ij", abs2.squeeze(-2), g_var, h_pow)
    eye = torch.eye(m, dtype=phases.dtype, device=phases.device)
    out = rd + scal.to(phases.dtype)[..., None, None] * eye
    # G_bar_i diag(|v|^2 h_var_j) G_bar_i^H -> [..., K, K, M, M]
    wgt = (abs2 * h_var).to(phases.dtype)  # [..., K(j), NL]
    out = out + torch.einsum("imn,...jn,ipn->...ijmp", g_bar, wgt, g_bar.conj())
    if include_rician_mean:
        # g_{i,j} = G_bar_i (v o h_bar_j): [..., K, K, M]
        g = torch.einsum("imn,...jn->...ijm", g_bar, v * h_bar)
        out = out + g.unsqueeze(-1) * g.conj().unsqueeze(-2)
    return out


def explicit_ris_covariance(model: RISChannelModel, i: int, j: int) -> np.ndarray:
    """R^r_{i,j} = E{vec(H^r_{i,j}) vec(H^r_{i,j})^H}, shape [MNL, MNL] (column-major vec).

    Block (a, b) (M x M) is E{G_a G_b^H} E{h_a h_b^*} with G_a the a-th column of G_i. For tests
    and small sizes only (memory O((MNL)^2)).
    """
    gb = model.g_bar[i]  # [M, NL]
    m, nl = gb.shape
    hb = model.h_bar[j]
    out = np.zeros((m * nl, m * nl), dtype=np.complex128)
    for a in range(nl):
        for b in range(nl):
            eg = np.outer(gb[:, a], gb[:, b].conj()) + (a == b) * model.g_var[i, a] * np.eye(m)
            eh = hb[a] * np.conj(hb[b]) + (a == b) * model.h_var[j, a]
            block = eg * eh
            if not model.include_rician_mean:
                block = block - np.outer(gb[:, a], gb[:, b].conj()) * hb[a] * np.conj(hb[b])
            out[a * m : (a + 1) * m, b * m : (b + 1) * m] = block
    return out
