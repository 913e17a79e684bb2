"""The result of block diagonalisation: every UE's subchannels (Section IV of the near-field paper).

:class:`SubchannelDesign` holds the null-space bases (Eq. (16)), the subchannel directions and
eigenvalues (Eqs. (19)-(20)), the per-subchannel constants m_a, m_b of Eq. (42) and the pilot
lengths; it maps a power allocation to precoders (Eq. (39)). It is computed by
:func:`plkg.precoding.block_diagonalization.design_subchannels` and cached per machine by
:mod:`plkg.precoding.design_cache`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plkg.checks import check_integer, check_number, check_real_array, describe
from plkg.errors import PlkgInputError, PlkgTypeError


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
        """K, number of UEs."""
        return self.ccm.shape[0]

    @property
    def n_antennas(self) -> int:
        """N, number of BS antennas."""
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

        Parameters
        ----------
        x_w : array_like, shape [..., N_D], float, watt
            Power per subchannel, x_{k,j} of Eq. (43).

        Returns
        -------
        ndarray, shape [..., N_D], float64, watt
            The allocation as an array.

        Raises
        ------
        PlkgTypeError
            None, str, bool or complex values.
        PlkgInputError
            A wrong last dimension, NaN or inf, or a negative power; the message names it.
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
        """Split a per-subchannel vector [..., N_D] into a list of K arrays [..., D_k].

        Parameters
        ----------
        values : array_like, shape [..., N_D]
            One value per subchannel, flattened UE by UE (any dtype and unit).

        Returns
        -------
        list of K ndarrays, shape [..., D_k]
            Views of ``values``, UE k's subchannels in the k-th entry.

        Raises
        ------
        PlkgTypeError
            ``values`` is None, str or bytes.
        PlkgInputError
            The last dimension is not N_D.
        """
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
        """P_k = [P_{e,k}, 0] zero-padded to N_s columns (Section IV-A).

        Parameters
        ----------
        x_w : array_like, shape [N_D], float64, watt
            Power allocation, as for :meth:`precoders`.
        n_symbols : int or None
            N_s >= max_k D_k, columns of each precoder; ``None`` uses :attr:`n_symbols`.

        Returns
        -------
        ndarray, shape [K, N, N_s], complex128
            The precoders of :meth:`precoders`, zero columns appended (Eq. (39)).
        """
        n_s = self.n_symbols if n_symbols is None else check_integer(n_symbols, "n_symbols", low=1)
        if n_s < self.n_symbols:
            raise ValueError(f"N_s = {n_s} is smaller than max_k D_k = {self.n_symbols}")
        out = np.zeros((self.n_users, self.n_antennas, n_s), dtype=np.complex128)
        for k, p in enumerate(self.precoders(x_w)):
            out[k, :, : p.shape[1]] = p
        return out

    def uplink_precoders(self) -> list[np.ndarray]:
        """P_{u,k} = V0_k U_hk, Eq. (29): the directions without power scaling.

        Returns
        -------
        list of K ndarrays, shape [N, D_k], complex128
            Orthonormal columns (copies of :attr:`directions`).
        """
        return [u.copy() for u in self.directions]

    def channel_eigenvalues(self) -> list[np.ndarray]:
        """lambda_{hk,j} of Eq. (20) per UE.

        Returns
        -------
        list of K ndarrays, shape [D_k], float64
            Linear power gains, in decreasing order within each UE.
        """
        return self.split(self.lambda_h)
