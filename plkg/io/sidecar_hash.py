"""SHA-256 digests: of a JSON sidecar over its own canonical form, so any edit of the sidecar is
detected, and of a file's bytes (:func:`file_sha256`: sweep parts, checkpoint weights).

The digest covers ``json.dumps(meta minus FIELD, sort_keys=True, separators=(",", ":"),
ensure_ascii=True, allow_nan=False)`` encoded as UTF-8: independent of indentation and key order
in the file, so a re-indented but otherwise untouched sidecar still verifies, while any change of
a value (training range, normalisation, activation, labels' meaning ...) does not.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

FIELD = "sidecar_sha256"


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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


def read_verified(path, what: str, fmt: str, blob_hash_key: str) -> tuple[bytes, dict]:
    """Read ``path`` and its ``.json`` sidecar; verify the sidecar hash, format and file hash.

    Parameters
    ----------
    path : path of the data file (``.npz`` or ``.safetensors``)
    what : str
        Name used in messages (e.g. "general dataset").
    fmt : str
        Expected ``meta["format"]``.
    blob_hash_key : str
        Sidecar field holding the SHA-256 of the data file's bytes.

    Returns
    -------
    (bytes, dict)
        The data file's bytes and the verified sidecar.

    Raises
    ------
    ValueError
        A missing file, an edited sidecar, another format, or bytes that do not match.
    """
    path = Path(path)
    side = path.with_suffix(".json")
    if not path.is_file() or not side.is_file():
        raise ValueError(f"{what} {str(path)!r} or its sidecar {side.name} is missing")
    blob = path.read_bytes()
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{what} sidecar {str(side)!r} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{what} sidecar {str(side)!r} is not a JSON object")
    verify_sidecar_sha256(meta, side)
    if meta.get("format") != fmt:
        raise ValueError(f"{path}: not a {what} (format {meta.get('format')!r})")
    if hashlib.sha256(blob).hexdigest() != meta.get(blob_hash_key):
        raise ValueError(f"{path}: contents do not match the sidecar's {blob_hash_key}")
    return blob, meta
