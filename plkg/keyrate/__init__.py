"""Layer 2: key rates of both papers, in closed form.

Near-field paper: :mod:`~plkg.keyrate.gaussian` (Gaussian mutual information, Eq. (13), and the
key rate :math:`I_k` of Eq. (17)), :mod:`~plkg.keyrate.subchannel` (the per-subchannel rate
:math:`C_k` of Eq. (42)) and :mod:`~plkg.keyrate.evaluate` (both for one allocation).
RIS paper: :mod:`~plkg.keyrate.ris_kgr` (Theorem 1, Eq. (8)) and
:mod:`~plkg.keyrate.ris_upper_bound` (Theorem 2, Eqs. (11)-(13)).
"""
