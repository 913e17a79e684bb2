"""SHA-256 of a JSON sidecar over its own canonical form, so any edit of the sidecar is detected.

The digest covers ``json.dumps(meta minus FIELD, sort_keys=True, separators=(",", ":"),
ensure_ascii=True, allow_nan=False)`` encoded as UTF-8: independent of indentation and key order
in the file, so a re-indented but otherwise untouched sidecar still verifies, while any change of
a value (training range, normalisation, activation, labels' meaning ...) does not.
"""

from __future__ import annotations

import hashlib
import json

FIELD = "sidecar_sha256"


def canonical_json(meta: dict) -> bytes:
    """Canonical UTF-8 JSON of ``meta`` without the ``sidecar_sha256`` field."""
    body = {k: v for k, v in meta.items() if k != FIELD}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("utf-8")


def sidecar_sha256(meta: dict) -> str:
    """Hex SHA-256 of :func:`canonical_json` of ``meta``."""
    return hashlib.sha256(canonical_json(meta)).hexdigest()


def with_sidecar_sha256(meta: dict) -> dict:
    """A copy of ``meta`` with ``sidecar_sha256`` set to its digest."""
    out = {k: v for k, v in meta.items() if k != FIELD}
    out[FIELD] = sidecar_sha256(out)
    return out


def verify_sidecar_sha256(meta: dict, where: str) -> None:
    """Raise ValueError naming ``where`` unless ``meta[FIELD]`` matches its content."""
    stored = meta.get(FIELD)
    if not isinstance(stored, str):
        raise ValueError(f"{where} lacks its {FIELD} (the hash that protects it against edits)")
    try:
        actual = sidecar_sha256(meta)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} cannot be hashed: {exc}") from exc
    if actual != stored:
        raise ValueError(
            f"{where} was edited after it was written ({FIELD} mismatch); regenerate it instead "
            "of editing it"
        )
