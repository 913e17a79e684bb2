"""Layer 3: the two systems' scenarios, channel statistics and probing simulations.

Near-field multi-user system (the near-field paper): :mod:`~plkg.channels.nearfield_scenario`
(the frozen, validated scenario of Section II and VII-A), :mod:`~plkg.channels.nearfield` (the
ULA channel of Eqs. (1)-(5) and the Monte-Carlo CCM R_k of Eq. (4)),
:mod:`~plkg.channels.nearfield_probing` (the probing rounds of Eqs. (6)-(11)) and
:mod:`~plkg.channels.covariance` (checks on a CCM before it enters a formula).

RIS-aided multi-cell system (the RIS paper): :mod:`~plkg.channels.ris_scenario` (Sections II and
V), :mod:`~plkg.channels.ris_multicell` (the channel statistics of Eq. (1) and Eq. (12)) and
:mod:`~plkg.channels.ris_probing` (the probing rounds of Eqs. (2)-(6)).
"""
