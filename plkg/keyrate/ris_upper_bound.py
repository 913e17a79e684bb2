"""Upper bound of the RIS multi-cell KGR: Theorem 2, Eqs. (11)-(13) of the RIS paper.

R_k <= R_k^ub = I(y_k; z_tilde_k) (data processing, y_k -> z_tilde_k -> z_k = P_k z_tilde_k):

    R_k^ub = ln det(sum_i P_i M_{i,k} P_i^H + I) - ln det(sum_i P_i M_{i,k} P_i^H + I - P_k N_kk P_k^H),
    N_kk = p_u M_{k,k} (p_u sum_j M_{k,j} + I_M)^{-1} M_{k,k},

(Eq. (13) for p_u = 1). Equal to Theorem 1 when M_e = M and P_k is invertible (Remark 4).
"""

from __future__ import annotations

import torch

from plkg.keyrate.ris_kgr import LN2, _own, check_rate_inputs, logdet_hpd


def n_kk(cov: torch.Tensor, ut_power_w: float) -> torch.Tensor:
    """N_kk of Eq. (13) (with UT power p_u), shape [..., K, M, M].

    Parameters
    ----------
    cov : Tensor, complex, shape [..., K, K, M, M]
        M_{i,j}(v) of Eq. (12), noise-normalised.
    ut_power_w : float
    """
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    z_tilde = ut_power_w * cov.sum(-3) + eye
    own = _own(cov)
    out = ut_power_w * own @ torch.linalg.solve(z_tilde, own)
    return 0.5 * (out + out.conj().transpose(-1, -2))


def ris_upper_bound_nats(
    cov: torch.Tensor, precoders: torch.Tensor, ut_power_w: float
) -> torch.Tensor:
    """R_k^ub of Theorem 2, Eq. (11), in nats; shape [..., K].

    Parameters
    ----------
    cov : Tensor, complex, shape [..., K, K, M, M]
        M_{i,j}(v), entry [i, j] is BS i - UT j.
    precoders : Tensor, complex, shape [..., K, M_e, M]
    ut_power_w : float
        UT pilot power p_u in watt.
    """
    check_rate_inputs(cov, precoders, ut_power_w)
    me = precoders.shape[-2]
    eye_e = torch.eye(me, dtype=cov.dtype, device=cov.device)
    r_y = torch.einsum("...iem,...ikmn,...ifn->...kef", precoders, cov, precoders.conj()) + eye_e
    s = r_y - precoders @ n_kk(cov, ut_power_w) @ precoders.conj().transpose(-1, -2)
    s = 0.5 * (s + s.conj().transpose(-1, -2))
    return logdet_hpd(r_y) - logdet_hpd(s)


def ris_upper_bound_bits(
    cov: torch.Tensor, precoders: torch.Tensor, ut_power_w: float
) -> torch.Tensor:
    """Theorem 2 in bits per channel use; shape [..., K]."""
    return ris_upper_bound_nats(cov, precoders, ut_power_w) / LN2
