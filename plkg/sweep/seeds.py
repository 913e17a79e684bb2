"""Canonical SHA-256 hashes of plain data: spec fingerprints, task ids and task seeds.

A value is hashed through its canonical JSON (sorted keys, no whitespace; NumPy scalars and tuples
as plain Python), so the same spec gives the same fingerprint, task ids and seeds on every machine
and on any number of workers.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np


def _plain(value):
    """NumPy scalars and tuples as plain Python (for JSON)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hash(obj) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(blob.encode()).hexdigest()


def derive_seed(*parts) -> int:
    """A 63-bit seed from JSON-able ``parts`` (SHA-256), identical on every machine."""
    return int(_hash(list(parts))[:16], 16) >> 1
