"""Supervised (input, label) datasets on disk: ``NAME.npz`` (no pickle) + ``NAME.json`` sidecar.

Used for the (P_a, mu) pairs of KGLM-Net (Section V-B of the near-field paper) and the (P_a, t)
pairs of the fairness FNN (Section VI-C). The ``.npz`` holds

* ``inputs`` [T] float64 - the network input (e.g. P_a in dBm),
* ``labels`` [T] float64 - the target (e.g. mu in bits/W, or t in bits),
* ``split``  [T] int8    - 0 train, 1 validation, 2 test (seeded, stored, Section V-B-2),
* any extra arrays (e.g. ``pa_w``, ``m_a``, ``m_b``, ``user`` of the design).

The JSON sidecar records what the numbers mean (names and units, scenario fingerprint, power
range and sampling, solver, seed, package version) and the SHA-256 of the ``.npz`` bytes, so a
truncated, corrupted or swapped file is detected on load. The sidecar also holds its own hash
(``sidecar_sha256``, see :mod:`plkg.io.sidecar_hash`), so an edited sidecar is detected too. Files
are written byte-deterministically (fixed zip timestamps, sorted JSON keys) and atomically; the pair
is written under a lock on the folder (:mod:`plkg.io.folder_lock`), so concurrent writers to one
path cannot leave an ``.npz`` of one run next to the sidecar of another.

Degenerate labels are refused when written and when loaded: non-finite labels, labels that are all
equal (to 1e-12 relative), and labels <= 0 when ``label_domain`` is ``"positive"`` (the default for
``mu`` and ``t``, which are positive by definition).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from plkg.io.arrays import read_npz_bytes
from plkg.io.atomic import write_bytes_atomic, write_text_atomic
from plkg.io.folder_lock import folder_lock
from plkg.io.sidecar_hash import verify_sidecar_sha256, with_sidecar_sha256

SPLIT_NAMES = ("train", "val", "test")
DEFAULT_SPLIT_COUNTS = (140, 30, 30)
CORE_ARRAYS = ("inputs", "labels", "split")
REQUIRED_META = (
    "input_name",
    "input_units",
    "label_name",
    "label_units",
    "scenario_fingerprint",
    "solver",
    "seed",
    "package_version",
)
FORMAT = "plkg-dataset-2"
# Read for compatibility: version 1 has no sidecar_sha256 (edits of its sidecar go undetected).
LEGACY_FORMATS = ("plkg-dataset-1",)
LABEL_DOMAINS = ("positive", "real")
# Labels that are positive by definition (bits/W, bits): a value <= 0 means a degenerate solve.
POSITIVE_LABEL_NAMES = ("mu", "t")
# Labels whose spread is below this fraction of their magnitude are taken as constant.
DEGENERATE_SPREAD_RTOL = 1e-12


@dataclass(frozen=True)
class Dataset:
    """A validated (input, label) dataset.

    Attributes
    ----------
    inputs : ndarray [T] float64
    labels : ndarray [T] float64
    split : ndarray [T] int8, 0 train / 1 val / 2 test
    meta : dict
        The JSON sidecar (names, units, fingerprint, ...).
    extras : dict of str -> ndarray
        Additional arrays stored with the data.
    """

    inputs: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    meta: dict
    extras: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def part(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, labels) of split ``train``, ``val`` or ``test``."""
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; choose from {SPLIT_NAMES}")
        mask = self.split == SPLIT_NAMES.index(name)
        return self.inputs[mask], self.labels[mask]

    def indices(self, name: str) -> np.ndarray:
        """Sample indices of split ``name``."""
        return np.flatnonzero(self.split == SPLIT_NAMES.index(name))


def make_split(n_samples: int, rng: np.random.Generator, counts=DEFAULT_SPLIT_COUNTS) -> np.ndarray:
    """Random train/val/test labels [T] int8 with ``counts`` = (n_train, n_val, n_test).

    ``counts`` are scaled proportionally (rounded, train gets the remainder) if they do not add up
    to ``n_samples``; the paper's 140/30/30 of T_D = 200 is the default.
    """
    n_samples = int(n_samples)
    if n_samples < 3:
        raise ValueError(f"need at least 3 samples for a train/val/test split, got {n_samples}")
    counts = [int(c) for c in counts]
    if len(counts) != 3 or min(counts) < 0 or sum(counts) == 0:
        raise ValueError(f"split counts must be three non-negative integers, got {counts}")
    if sum(counts) != n_samples:
        val = max(1, round(counts[1] * n_samples / sum(counts)))
        test = max(1, round(counts[2] * n_samples / sum(counts)))
        counts = [n_samples - val - test, val, test]
        if counts[0] < 1:
            raise ValueError(f"{n_samples} samples are too few for a train/val/test split")
    labels = np.repeat(np.arange(3, dtype=np.int8), counts)
    return labels[rng.permutation(n_samples)]


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Deterministic .npz bytes (sorted names, fixed timestamps, no pickle)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    return buf.getvalue()


def sidecar_path(path: str | Path) -> Path:
    """``NAME.json`` next to ``NAME.npz``."""
    return Path(path).with_suffix(".json")


def _validate_arrays(inputs, labels, split, where: str):
    for name, arr in (("inputs", inputs), ("labels", labels), ("split", split)):
        if arr.ndim != 1:
            raise ValueError(f"{where}: {name} must be 1-D [T], got shape {arr.shape}")
    if not (inputs.shape == labels.shape == split.shape):
        raise ValueError(
            f"{where}: shape mismatch: inputs {inputs.shape}, labels {labels.shape}, split {split.shape}"
        )
    if inputs.shape[0] == 0:
        raise ValueError(f"{where}: dataset is empty")
    if not np.all(np.isfinite(inputs)):
        raise ValueError(f"{where}: inputs contain NaN or inf")
    if not np.all(np.isfinite(labels)):
        raise ValueError(f"{where}: labels contain NaN or inf")
    if not np.all(np.isin(split, (0, 1, 2))):
        raise ValueError(f"{where}: split must only hold 0 (train), 1 (val), 2 (test)")
    for i, name in enumerate(SPLIT_NAMES):
        if not np.any(split == i):
            raise ValueError(f"{where}: the {name} split is empty")


def label_domain_of(meta: dict) -> str:
    """``meta['label_domain']`` if given, else ``"positive"`` for ``mu``/``t`` and ``"real"``."""
    domain = meta.get("label_domain")
    if domain is None:
        return "positive" if meta.get("label_name") in POSITIVE_LABEL_NAMES else "real"
    if domain not in LABEL_DOMAINS:
        raise ValueError(f"label_domain must be one of {LABEL_DOMAINS}, got {domain!r}")
    return domain


def _refuse_degenerate_labels(labels: np.ndarray, domain: str, where: str) -> None:
    """Refuse labels that cannot teach anything: constant, or <= 0 where they must be positive."""
    if domain == "positive" and np.any(labels <= 0):
        bad = labels[labels <= 0]
        raise ValueError(
            f"{where}: {bad.size} of {labels.size} labels are <= 0 (e.g. {bad[0]:.3g}) but must be "
            "positive; the solver result is degenerate (power range too low?)"
        )
    spread = float(np.max(labels) - np.min(labels))
    if labels.size > 1 and spread <= DEGENERATE_SPREAD_RTOL * float(np.max(np.abs(labels))):
        raise ValueError(
            f"{where}: all {labels.size} labels are equal ({labels[0]:.6g}); a dataset of "
            "constant labels is degenerate (power range too narrow or too low?)"
        )


def save_dataset(path, inputs, labels, split, meta: dict, extras: dict | None = None) -> Path:
    """Write ``path`` (.npz) and its JSON sidecar atomically and deterministically.

    Parameters
    ----------
    path : str or Path
        Target ``.npz`` (the suffix is enforced).
    inputs, labels : array [T] float64
    split : array [T] int (0/1/2), e.g. from :func:`make_split`
    meta : dict
        Must contain the keys of ``REQUIRED_META``; JSON-serialisable. Recommended also:
        ``scenario_name``, ``input_range`` [lo, hi], ``sampling``, ``label_description``.
    extras : dict of str -> array, optional
        More arrays (no object dtype).

    Returns
    -------
    Path of the ``.npz``.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"dataset path must end in .npz, got {str(path)!r}")
    inputs = np.asarray(inputs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    split = np.asarray(split, dtype=np.int8)
    _validate_arrays(inputs, labels, split, "save_dataset")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ValueError(f"dataset metadata lacks {', '.join(missing)}")
    domain = label_domain_of(meta)
    _refuse_degenerate_labels(labels, domain, f"save_dataset({str(path)!r})")
    arrays = {"inputs": inputs, "labels": labels, "split": split}
    for name, arr in (extras or {}).items():
        if name in CORE_ARRAYS:
            raise ValueError(f"extra array name {name!r} is reserved")
        arr = np.asarray(arr)
        if arr.dtype == object:
            raise ValueError(f"extra array {name!r} has object dtype (would need pickle)")
        arrays[name] = arr
    blob = _npz_bytes(arrays)
    sidecar = {
        **meta,
        "label_domain": domain,
        "format": FORMAT,
        "n_samples": int(inputs.shape[0]),
        "split_counts": {n: int(np.sum(split == i)) for i, n in enumerate(SPLIT_NAMES)},
        "arrays": {n: {"shape": list(a.shape), "dtype": str(a.dtype)} for n, a in arrays.items()},
        "npz_sha256": hashlib.sha256(blob).hexdigest(),
        "npz_file": path.name,
    }
    sidecar = with_sidecar_sha256(sidecar)
    text = json.dumps(sidecar, indent=2, sort_keys=True, allow_nan=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    # One writer at a time per folder: the .npz and its sidecar are replaced as a pair.
    with folder_lock(path.parent):
        write_bytes_atomic(path, blob)
        write_text_atomic(sidecar_path(path), text)
    return path


def load_dataset(path, expected_fingerprint: str | None = None) -> Dataset:
    """Read and validate a dataset written by :func:`save_dataset`.

    Raises
    ------
    ValueError
        Missing file or sidecar, truncated/corrupt ``.npz`` (checksum or zip error), sidecar that
        does not describe the ``.npz`` (shapes, counts, hash), non-finite values, a bad split, or
        a scenario fingerprint different from ``expected_fingerprint``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"dataset file {str(path)!r} does not exist")
    side = sidecar_path(path)
    if not side.is_file():
        raise ValueError(f"dataset sidecar {str(side)!r} is missing (needed next to {path.name})")
    # Shared lock: a concurrent save_dataset cannot replace one file of the pair mid-read.
    with folder_lock(path.parent, shared=True):
        side_bytes = side.read_bytes()
        blob = path.read_bytes()
    try:
        meta = json.loads(side_bytes.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"dataset sidecar {str(side)!r} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") not in (FORMAT, *LEGACY_FORMATS):
        raise ValueError(f"dataset sidecar {str(side)!r} is not a {FORMAT} file")
    if meta["format"] == FORMAT:
        verify_sidecar_sha256(meta, f"dataset sidecar {str(side)!r}")
    if hashlib.sha256(blob).hexdigest() != meta.get("npz_sha256"):
        raise ValueError(
            f"dataset file {str(path)!r} is truncated or corrupt, or does not belong to its "
            "sidecar (SHA-256 mismatch)"
        )
    # The bytes hashed above are the bytes decoded: no second read of the file.
    arrays = read_npz_bytes(blob, source=f"dataset file {str(path)!r}")
    for name in CORE_ARRAYS:
        if name not in arrays:
            raise ValueError(f"dataset file {str(path)!r} lacks the array {name!r}")
    for name, desc in meta.get("arrays", {}).items():
        if name not in arrays or list(arrays[name].shape) != desc.get("shape"):
            raise ValueError(f"dataset {str(path)!r}: array {name!r} does not match its sidecar")
    inputs = arrays.pop("inputs").astype(np.float64)
    labels = arrays.pop("labels").astype(np.float64)
    split = arrays.pop("split").astype(np.int8)
    _validate_arrays(inputs, labels, split, f"dataset {str(path)!r}")
    _refuse_degenerate_labels(labels, label_domain_of(meta), f"dataset {str(path)!r}")
    if meta.get("n_samples") != inputs.shape[0]:
        raise ValueError(
            f"dataset {str(path)!r}: sidecar says {meta.get('n_samples')} samples, file has "
            f"{inputs.shape[0]}"
        )
    if (
        expected_fingerprint is not None
        and meta.get("scenario_fingerprint") != expected_fingerprint
    ):
        raise ValueError(
            f"dataset {str(path)!r} was made for scenario fingerprint "
            f"{meta.get('scenario_fingerprint')}, not {expected_fingerprint}"
        )
    return Dataset(inputs=inputs, labels=labels, split=split, meta=meta, extras=arrays)
