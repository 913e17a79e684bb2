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
returned. An entry records the scenario's name, N and K (``meta``), and its modification time is
its last use (set on every hit), which ``plkg cache`` (:func:`list_entries`,
:func:`clear_entries`) shows and clears by. Those see only plkg's own files: regular files named
``design-KEY.npz`` (KEY: 32 hex digits) and their temporary names; another file in a shared cache
folder (``design-notes.npz``, a folder) is never listed, counted or removed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from plkg.channels.nearfield_scenario import NearFieldScenario
from plkg.checks import check_flag, check_instance, describe
from plkg.errors import PlkgInputError, PlkgTypeError
from plkg.io.arrays import read_npz
from plkg.io.atomic import write_bytes_atomic
from plkg.precoding.block_diagonalization import (
    DESIGN_VERSION,
    SubchannelDesign,
    compute_design,
)

CACHE_ENV = "PLKG_CACHE_DIR"
NO_CACHE_ENV = "PLKG_NO_CACHE"
_SCALARS = ("sigma2_a_hat_w", "sigma2_b_hat_w", "downlink_pilot_len", "uplink_pilot_len")
ENTRY_GLOB = "design-*.npz"
# The names of entries: KEY is cache_key's 32 hex digits.
ENTRY_NAME = re.compile(r"design-[0-9a-f]{32}\.npz")
# Temporary names of entries being written (plkg.io.atomic, tempfile.mkstemp):
# ".design-KEY.npz.RANDOM.tmp".
TEMP_GLOB = ".design-*.npz.*.tmp"
TEMP_NAME = re.compile(r"\.design-[0-9a-f]{32}\.npz\.[A-Za-z0-9_]+\.tmp")
# A temporary entry file older than this is left by a killed process (a live write takes seconds
# to minutes), so clear_entries removes it.
STRAY_TEMP_S = 3600.0


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


META_FIELDS = ("scenario", "n_antennas", "n_users", "fingerprint", "design_version")


def _meta(scenario) -> dict:
    """What ``plkg cache list`` shows of an entry's scenario."""
    return {
        "scenario": str(scenario.name),
        "n_antennas": int(scenario.n_antennas),
        "n_users": int(scenario.n_users),
        "fingerprint": scenario.fingerprint(),
        "design_version": DESIGN_VERSION,
    }


def save_design(path, design: SubchannelDesign, scenario=None) -> Path:
    """Write a design to a cache entry atomically (with the scenario's name, N and K if given)."""
    arrays = _design_arrays(design)
    if scenario is not None:
        arrays["meta"] = np.asarray(json.dumps(_meta(scenario), sort_keys=True))
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
    arrays.pop("meta", None)
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
        _touch(path)
        return design
    design = compute_design(scenario)
    try:
        save_design(path, design, scenario)
    except OSError as exc:
        warnings.warn(f"design cache {str(path.parent)!r} is not writable ({exc})", stacklevel=2)
    return design


def _touch(path: Path) -> None:
    """Mark an entry as used now (its modification time); a read-only cache keeps the old time."""
    try:
        os.utime(path)
    except OSError:
        pass


# ----------------------------------------------------------------------------- management
@dataclass(frozen=True)
class CacheEntry:
    """One design cache entry, as ``plkg cache list`` shows it.

    Attributes
    ----------
    key : str
        The entry's key (:func:`cache_key`): ``design-KEY.npz``.
    path : Path
    size_bytes : int
    last_used : float
        Modification time (POSIX seconds): written, or last answered from.
    meta : dict
        ``scenario``, ``n_antennas``, ``n_users``, ``fingerprint``, ``design_version``; empty for
        entries that do not record them.
    unreadable : str or None
        Why the entry cannot be read (the reader's exception type, e.g. ``BadZipFile``), or None.
        Such an entry is recomputed when its scenario is next used, and ``plkg cache clear``
        removes it.
    """

    key: str
    path: Path
    size_bytes: int
    last_used: float
    meta: dict
    unreadable: str | None = None

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "last_used": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.last_used)),
            **dict.fromkeys(META_FIELDS),
            **self.meta,
            "unreadable": self.unreadable,
        }


def _entry_meta(path: Path) -> tuple[dict, str | None]:
    """(``meta`` record, None) of an entry, read alone (the arrays stay on disk); ({}, None) if
    it records none, ({}, why) if the file cannot be read as an entry at all."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "meta" not in npz.files:
                return {}, None
            meta = json.loads(str(npz["meta"]))
    except Exception as exc:  # noqa: BLE001 - best effort: any damage (BadZipFile, ...) is shown
        return {}, type(exc).__name__
    return (meta, None) if isinstance(meta, dict) else ({}, None)


def _own_files(folder: Path, pattern: str, name: re.Pattern) -> list[tuple[Path, os.stat_result]]:
    """(path, stat) of the regular files of ``folder`` matching ``pattern`` whose name is of
    ``name`` (plkg's own files); links, folders and other names are left alone."""
    out = []
    for path in folder.glob(pattern) if folder.is_dir() else ():
        if not name.fullmatch(path.name):
            continue
        try:
            st = path.lstat()
        except OSError:  # removed meanwhile
            continue
        if stat.S_ISREG(st.st_mode):
            out.append((path, st))
    return out


def _cache_folder(cache_dir) -> Path:
    return default_cache_dir() if cache_dir is None else Path(cache_dir)


def list_entries(cache_dir=None) -> list[CacheEntry]:
    """The entries (regular files ``design-KEY.npz``) of the cache folder, most recently used
    first; an entry that cannot be read is listed with :attr:`CacheEntry.unreadable` set.

    Parameters
    ----------
    cache_dir : path, optional
        Default :func:`default_cache_dir`; a folder that does not exist holds no entry.
    """
    folder = _cache_folder(cache_dir)
    out = []
    for path, st in _own_files(folder, ENTRY_GLOB, ENTRY_NAME):
        key = path.name[len("design-") : -len(".npz")]
        meta, unreadable = _entry_meta(path)
        out.append(CacheEntry(key, path, st.st_size, st.st_mtime, meta, unreadable))
    return sorted(out, key=lambda e: (-e.last_used, e.key))


def cache_size(cache_dir=None) -> dict:
    """``{"folder", "entries", "bytes"}`` of the cache (entries only; other files not counted)."""
    entries = list_entries(cache_dir)
    return {
        "folder": str(_cache_folder(cache_dir)),
        "entries": len(entries),
        "bytes": sum(e.size_bytes for e in entries),
    }


def _stray_temporaries(folder: Path, now: float) -> list[Path]:
    own = _own_files(folder, TEMP_GLOB, TEMP_NAME)
    return sorted(path for path, st in own if now - st.st_mtime > STRAY_TEMP_S)


def _warn_stderr(message: str) -> None:
    print(f"plkg cache: warning: {message}", file=sys.stderr)


def clear_entries(
    cache_dir=None, older_than_days=None, dry_run: bool = False, warn=None
) -> list[Path]:
    """Remove design entries (and stray temporary entry files); returns what was (or would be)
    removed.

    Only plkg's own files go: regular files ``design-KEY.npz`` (readable or not) and temporary
    entry files of a killed write older than :data:`STRAY_TEMP_S`. Every other file in the folder
    stays. A file that cannot be removed (no permission) gets one warning line; the others go on.

    Parameters
    ----------
    cache_dir : path, optional
        Default :func:`default_cache_dir`.
    older_than_days : float, optional
        Remove only entries not used for more than this many days (>= 0); default: all.
    dry_run : bool
        List what would be removed, remove nothing.
    warn : callable(str), optional
        Where the warning of a file that cannot be removed goes; default: one line on stderr.
    """
    from plkg.checks import check_number

    now = time.time()
    if older_than_days is not None:
        older_than_days = check_number(older_than_days, "--older-than", low=0.0)
    folder = _cache_folder(cache_dir)
    chosen = [
        e.path
        for e in list_entries(folder)
        if older_than_days is None or now - e.last_used > older_than_days * 86400.0
    ]
    chosen += _stray_temporaries(folder, now)
    if dry_run:
        return chosen
    warn = warn or _warn_stderr
    removed = []
    for path in chosen:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            warn(f"cannot remove {str(path)!r} ({type(exc).__name__}: {exc.strerror or exc})")
            continue
        removed.append(path)
    return removed


def design_for_scenario(scenario: NearFieldScenario, ccm=None, cache=None) -> SubchannelDesign:
    """The subchannel design of a scenario (Eqs. (15)-(39) of the near-field paper).

    :func:`plkg.precoding.block_diagonalization.design_subchannels` with every parameter taken
    from the scenario. ``ccm=None`` uses the scenario's Monte-Carlo CCM
    (:func:`plkg.channels.nearfield.scenario_ccm`) and goes through the design cache (this
    module): the CCM and design of a scenario are computed once per machine. ``cache=False`` (or ``$PLKG_NO_CACHE=1``) computes
    them afresh. A given ``ccm`` is never cached.

    Parameters
    ----------
    scenario : NearFieldScenario
        From :func:`plkg.load_scenario` or built directly.
    ccm : array_like [K, N, N] complex, optional
        CCMs to use instead of the scenario's; K must equal ``scenario.n_users``.
    cache : bool or None
        ``None`` follows ``$PLKG_NO_CACHE``; True/False force it.

    Returns
    -------
    SubchannelDesign
        Precoders, subchannel gains and the UE of each subchannel.

    Raises
    ------
    PlkgTypeError
        ``scenario`` is not a NearFieldScenario, ``cache`` not a bool or None.
    """
    check_instance(
        scenario, NearFieldScenario, "scenario", "a NearFieldScenario (from plkg.load_scenario)"
    )
    if cache is not None:
        check_flag(cache, "cache")
    if ccm is None:
        return cached_design(scenario, cache=cache)
    if ccm is None or isinstance(ccm, (str, bytes, bool)):
        raise PlkgTypeError(f"ccm must be an array [K, N, N] of CCMs, got {describe(ccm)}")
    if np.ndim(ccm) != 3 or np.shape(ccm)[0] != scenario.n_users:
        raise PlkgInputError(
            f"ccm must have shape [K, N, N] with K = {scenario.n_users} (the scenario's UEs), "
            f"got shape {np.shape(ccm)}"
        )
    return compute_design(scenario, ccm)
