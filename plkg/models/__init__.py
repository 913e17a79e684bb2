"""Layer 2: the small networks that replace the solvers online (plain ``torch.nn`` modules).

:mod:`~plkg.models.fnn` (the fully connected regressor), :mod:`~plkg.models.kglm_net` (KGLM-Net,
Fig. 3 and Section V-B of the near-field paper) and :mod:`~plkg.models.set_allocator` (a
permutation-invariant network over a design's subchannels, for geometries never seen).
"""
