"""Allocation online: the methods by name, checkpoints, and the learned allocators of both kinds.

* :mod:`~plkg.inference.methods`: the registry of allocation methods (the CLI names) and
  :func:`plkg.allocate`, which checks everything on every call.
* :mod:`~plkg.inference.bind`: :func:`plkg.bind`, a method bound to one design, checked and
  loaded once; its ``x_w`` is the online path.
* :mod:`~plkg.inference.checkpoint`: safetensors checkpoints with hashed JSON sidecars, loaded
  without pickle.
* :mod:`~plkg.inference.allocator` (KGLM-Net, Eqs. (49)-(51) then Eq. (48) of the near-field
  paper) and :mod:`~plkg.inference.fairness_allocator` (fairness FNN, Eq. (62) then Eqs.
  (59)-(60)): the validating allocators; :mod:`~plkg.inference.fast_allocator`: their online
  twins. Both compute with :mod:`~plkg.inference.fnn_kernel` and never import each other.
* :mod:`~plkg.inference.interp_allocator`: interpolation of solver labels (a learned-free
  baseline); :mod:`~plkg.inference.general_allocator` and
  :mod:`~plkg.inference.general_methods`: the set allocator for geometries never seen.

Nothing here imports Lightning or :mod:`plkg.training`.
"""
