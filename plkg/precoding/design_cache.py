"""A content-addressed cache of a scenario's Monte-Carlo CCM and its subchannel design.

The CCM (Eq. (4) of the near-field paper) and the design (Eqs. (16), (19), (20), (42)) take
seconds; an allocation takes microseconds. Every command that needs a design goes through
:func:`cached_design`, so a scenario's design is computed once per machine.

Key: SHA-256 of the scenario fingerprint (every physical field) and :data:`DESIGN_VERSION`, so
another scenario or another version of the design code can never be answered from an old entry.
Entries are ``.npz`` files (no pickle) holding the arrays and a SHA-256 of their bytes; an entry
that cannot be read, lacks an array or fails its checksum is recomputed and replaced, never
trusted. Entries are written atomically (temporary name, then rename), so concurrent processes
at worst compute the same design twice.

Folder: ``$PLKG_CACHE_DIR`` if set, else the user cache folder (``platformdirs``). A cache that
cannot be written (read-only home, full disk) is skipped with a warning: the design is still
returned.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path

import numpy as np

from plkg.data.atomic import write_bytes_atomic
from plkg.io.arrays import read_npz
from plkg.precoding.block_diagonalization import (
    DESIGN_VERSION,
    SubchannelDesign,
    compute_design,
)

CACHE_ENV = "PLKG_CACHE_DIR"
NO_CACHE_ENV = "PLKG_NO_CACHE"
_SCALARS = ("sigma2_a_hat_w", "sigma2_b_hat_w", "downlink_pilot_len", "uplink_pilot_len")


def default_cache_dir() -> Path:
    """``$PLKG_CACHE_DIR`` or the platform's user cache folder for plkg."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("plkg", appauthor=False))


def cache_key(scenario) -> str:
    """Hex key of a scenario's design: its fingerprint and the design code's version."""
    blob = f"nearfield-design|v{DESIGN_VERSION}|{scenario.fingerprint()}"
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def entry_path(scenario, cache_dir=None) -> Path:
    folder = default_cache_dir() if cache_dir is None else Path(cache_dir)
    return folder / f"design-{cache_key(scenario)}.npz"


def _design_arrays(design: SubchannelDesign) -> dict[str, np.ndarray]:
    arrays = {
        "ccm": design.ccm,
        "lambda_h": design.lambda_h,
        "user": design.user,
        "m_a": design.m_a,
        "m_b": design.m_b,
    }
    for k, (v0, u) in enumerate(zip(design.null_bases, design.directions, strict=True)):
        arrays[f"null_basis_{k}"] = v0
        arrays[f"directions_{k}"] = u
    for name in _SCALARS:
        arrays[name] = np.asarray(getattr(design, name))
    return arrays


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_design(path, design: SubchannelDesign) -> Path:
    """Write a design to a cache entry atomically."""
    arrays = _design_arrays(design)
    buf = io.BytesIO()
    np.savez(buf, checksum=np.asarray(_checksum(arrays)), **arrays)
    return write_bytes_atomic(path, buf.getvalue())


def load_design(path) -> SubchannelDesign | None:
    """Read a cache entry; ``None`` if it is missing, unreadable, incomplete or corrupt."""
    try:
        arrays = read_npz(path, what="design cache entry")
    except (OSError, ValueError):  # PlkgInputError is a ValueError: damaged -> recompute
        return None
    stored = arrays.pop("checksum", None)
    if stored is None or str(stored) != _checksum(arrays):
        return None
    try:
        n_users = sum(1 for name in arrays if name.startswith("directions_"))
        return SubchannelDesign(
            ccm=arrays["ccm"],
            null_bases=tuple(arrays[f"null_basis_{k}"] for k in range(n_users)),
            directions=tuple(arrays[f"directions_{k}"] for k in range(n_users)),
            lambda_h=arrays["lambda_h"],
            user=arrays["user"],
            m_a=arrays["m_a"],
            m_b=arrays["m_b"],
            sigma2_a_hat_w=float(arrays["sigma2_a_hat_w"]),
            sigma2_b_hat_w=float(arrays["sigma2_b_hat_w"]),
            downlink_pilot_len=int(arrays["downlink_pilot_len"]),
            uplink_pilot_len=int(arrays["uplink_pilot_len"]),
        )
    except KeyError:
        return None


def cache_enabled(cache) -> bool:
    """``cache=None`` follows ``$PLKG_NO_CACHE`` (set to 1 to disable); a bool decides itself."""
    if cache is None:
        return os.environ.get(NO_CACHE_ENV, "") in ("", "0")
    return bool(cache)


def cached_design(scenario, cache=None, cache_dir=None) -> SubchannelDesign:
    """The scenario's CCM and design, from the cache when a valid entry exists.

    Parameters
    ----------
    scenario : NearFieldScenario
    cache : bool or None
        ``False`` computes without reading or writing the cache; ``None`` uses it unless
        ``$PLKG_NO_CACHE=1``.
    cache_dir : path, optional
        Cache folder; default :func:`default_cache_dir`.

    Returns
    -------
    SubchannelDesign
        Bit-identical to ``compute_design(scenario)`` on this machine.
    """
    if not cache_enabled(cache):
        return compute_design(scenario)
    path = entry_path(scenario, cache_dir)
    design = load_design(path) if path.is_file() else None
    if design is not None:
        return design
    design = compute_design(scenario)
    try:
        save_design(path, design)
    except OSError as exc:
        warnings.warn(f"design cache {str(path.parent)!r} is not writable ({exc})", stacklevel=2)
    return design
