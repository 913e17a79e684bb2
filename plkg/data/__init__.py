"""Layer 6: solver-labelled datasets on disk, for training the networks.

:mod:`~plkg.data.dataset` (``NAME.npz`` without pickle, plus a hashed ``NAME.json`` sidecar),
:mod:`~plkg.data.normalization` (min-max normalisation, Eqs. (49)-(50)),
:mod:`~plkg.data.sumrate_dataset` ((P_a, mu) pairs for KGLM-Net),
:mod:`~plkg.data.fairness_dataset` ((P_a, t) pairs for the fairness FNN) and
:mod:`~plkg.data.general_dataset` (random near-field geometries for the set allocator).
"""
