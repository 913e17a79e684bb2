"""The array operations the exact max-min solver needs beyond the array API standard.

The solver computes with the array API standard namespace of its input
(:func:`array_api_compat.array_namespace`: NumPy arrays, or torch tensors in float64 on their
device). What the standard does not cover lives here: choosing the namespace for an input that
may be a plain number, copying a result back to NumPy, and silencing NumPy's floating-point
warnings (the solver checks its results explicitly; torch never warns).
"""

from __future__ import annotations

import contextlib

import array_api_compat
import numpy as np

_NUMPY = array_api_compat.array_namespace(np.empty(0))


def namespace_of(like):
    """``(xp, device)`` for computing like ``like``.

    Parameters
    ----------
    like : object
        A torch tensor selects torch (float64, on the tensor's device); anything else (NumPy
        array, Python number, sequence, None) selects NumPy.

    Returns
    -------
    xp : module
        Array API namespace (``array_api_compat.numpy`` or ``array_api_compat.torch``).
    device : object
        Device of ``like`` for torch, None for NumPy.
    """
    if array_api_compat.is_torch_array(like):
        return array_api_compat.array_namespace(like), array_api_compat.device(like)
    return _NUMPY, None


def is_torch(xp) -> bool:
    """Whether ``xp`` is the torch namespace (its per-UE sums take a faster route)."""
    return array_api_compat.is_torch_namespace(xp)


def to_numpy(value) -> np.ndarray:
    """NumPy copy (tensor, moved to the CPU) or view (array, sequence, number) of ``value``."""
    if array_api_compat.is_torch_array(value):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def quiet_float_warnings(xp):
    """Context that silences NumPy's overflow / invalid / divide warnings (no-op for torch).

    The iterations evaluate both branches of ``where`` and check their results explicitly, so
    the warnings carry no information.
    """
    if is_torch(xp):
        return contextlib.nullcontext()
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")
