"""block-diagonalisation precoding and its subchannels (near-field paper, Section IV).

:mod:`~plkg.precoding.block_diagonalization` computes each UE's interference-free, uncorrelated
subchannels (Eqs. (16), (19), (20)) and their constants of Eq. (42), held by
:class:`~plkg.precoding.subchannel_design.SubchannelDesign`;
:mod:`~plkg.precoding.design_cache` stores a scenario's CCM and design once per machine.
"""
