"""Keys from the user's own paired measurements (a testbed instead of the simulator).

File format (``.npz``, read with ``allow_pickle=False``, or MATLAB ``.mat`` through
:func:`scipy.io.loadmat`):

``alice``, ``bob`` (required, same shape, real or complex)
    [n_rounds, n_components] for one link, or [n_rounds, n_users, n_components] for several
    links (UEs / cells). Row r holds both ends' measurements of probing round r (one coherence
    time); rounds must be independent.
``correlation`` (optional)
    [n_components] or [n_users, n_components]: public correlation |rho| of already independent
    components (e.g. designed subchannels); the pipeline then skips decorrelation. Without it
    the pipeline decorrelates (KLT) and uses the block's sample correlations.
``analytic_kr_bits`` (optional)
    [n_users]: the analytic key rate per round of each link, for the efficiency ratio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plkg.keygen.pipeline import KeyGenConfig, aggregate, generate_key_pair


def load_measurements(path) -> dict:
    """Read and check a measurement file; returns arrays with a user axis ([n_rounds, K, D]).

    Raises
    ------
    ValueError
        Unknown extension, missing keys, mismatched shapes, non-finite values (one line naming
        the file and the key).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--measurements: no such file {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            data = {k: np.asarray(f[k]) for k in f.files}
    elif suffix == ".mat":
        from scipy.io import loadmat

        data = {k: np.asarray(v) for k, v in loadmat(path).items() if not k.startswith("__")}
    else:
        raise ValueError(f"--measurements: {path} must be .npz or .mat")
    for key in ("alice", "bob"):
        if key not in data:
            raise ValueError(f"--measurements: {path} has no array {key!r}")
    alice, bob = data["alice"], data["bob"]
    if alice.shape != bob.shape or alice.ndim not in (2, 3):
        raise ValueError(
            f"--measurements: 'alice' and 'bob' must have the same shape [n_rounds, (n_users,) "
            f"n_components], got {alice.shape} and {bob.shape}"
        )
    if alice.ndim == 2:
        alice, bob = alice[:, None, :], bob[:, None, :]
    for key, arr in (("alice", alice), ("bob", bob)):
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
            raise ValueError(f"--measurements: {key!r} must be finite numbers")
    if alice.shape[0] < 8:
        raise ValueError(f"--measurements: need at least 8 rounds, got {alice.shape[0]}")
    out = {"alice": alice, "bob": bob, "correlation": None, "analytic_kr_bits": None}
    n_users, n_comp = alice.shape[1], alice.shape[2]
    if "correlation" in data:
        rho = np.abs(np.asarray(data["correlation"], dtype=np.complex128)).reshape(-1, n_comp)
        if rho.shape[0] != n_users or not np.all(rho <= 1):
            raise ValueError(
                f"--measurements: 'correlation' must be [{n_users}, {n_comp}] with |rho| <= 1"
            )
        out["correlation"] = rho
    if "analytic_kr_bits" in data:
        kr = np.asarray(data["analytic_kr_bits"], dtype=np.float64).reshape(-1)
        if kr.size != n_users:
            raise ValueError(f"--measurements: 'analytic_kr_bits' must have {n_users} entries")
        out["analytic_kr_bits"] = kr
    return out


def measurement_key_generation(
    data: dict,
    rng: np.random.Generator,
    config: KeyGenConfig | None = None,
    block_rounds: int | None = None,
) -> dict:
    """Run the pipeline on every link of :func:`load_measurements` output.

    Returns
    -------
    dict with ``system = "measurements"`` and per link (``users``) the aggregate of
    :func:`plkg.keygen.pipeline.aggregate`, ``analytic_kr_bits`` / ``efficiency`` when given,
    and the per-block results under ``"blocks"``.
    """
    alice, bob = data["alice"], data["bob"]
    n_rounds = alice.shape[0]
    block = n_rounds if block_rounds is None else int(block_rounds)
    if not 8 <= block <= n_rounds:
        raise ValueError(f"block_rounds must lie in [8, {n_rounds}], got {block_rounds!r}")
    users = []
    for k in range(alice.shape[1]):
        rho = None if data.get("correlation") is None else data["correlation"][k]
        blocks = [
            generate_key_pair(alice[s : s + block, k], bob[s : s + block, k], rng, config, rho)
            for s in range(0, n_rounds - block + 1, block)
        ]
        entry = {"user": k, **aggregate(blocks)}
        kr = data.get("analytic_kr_bits")
        if kr is not None:
            entry["analytic_kr_bits"] = float(kr[k])
            entry["efficiency"] = entry["final_bits_per_round"] / kr[k] if kr[k] > 0 else None
        entry["blocks"] = blocks
        users.append(entry)
    return {"system": "measurements", "method": "measured", "users": users}
