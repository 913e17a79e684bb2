"""Keys from the user's own paired measurements (a testbed instead of the simulator).

File format (``.npz``, read without unpickling, or MATLAB ``.mat`` v4-v7 through
:func:`scipy.io.loadmat`; v7.3 files are HDF5 and refused with the hint to
``save(..., '-v7')``), checked by :func:`load_measurements` before any work:

``alice``, ``bob`` (required, same shape, both real or both complex)
    [n_rounds, n_components] for one link, or [n_rounds, n_users, n_components] for several
    links (UEs / cells). Row r holds both ends' measurements of probing round r (one coherence
    time); rounds must be independent. ``n_rounds >= 8`` (:data:`MIN_ROUNDS`), ``n_users >= 1``,
    ``1 <= n_components <= n_rounds`` (a sample covariance of D components from fewer than D
    rounds is singular; with ``correlation`` no covariance is estimated and any
    ``n_components >= 1`` is accepted). Values are finite with ``|x| <= 1e100`` (:data:`MAX_ABS`, so that
    squares and sums over rounds stay finite in float64) and vary over the rounds at both ends
    of every link; any unit works within that range (the pipeline is scale-free). The arrays
    may declare at most a quarter of the available memory (checked before they are decoded).
``correlation`` (optional)
    Shaped like one round of ``alice``: [n_components] for one link, [n_users, n_components]
    for several (never reshaped); real in [0, 1]: public correlation ``abs(rho)`` of already
    independent components (e.g. designed subchannels); the pipeline then skips decorrelation.
    Without it the pipeline decorrelates (KLT) and uses the block's sample correlations.
``analytic_kr_bits`` (optional)
    [n_users] (a scalar for one link without a user axis), finite and >= 0: the analytic key
    rate per round of each link, for the efficiency ratio.

MATLAB stores vectors as [1, n] or [n, 1]; such ``correlation`` and ``analytic_kr_bits`` are
read as [n]. Every refusal is a :class:`plkg.errors.PlkgInputError` naming the file and field.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plkg.errors import PlkgInputError
from plkg.io.arrays import check_array, matlab_vector, read_arrays, source_name
from plkg.keygen.pipeline import (
    KeyGenConfig,
    aggregate,
    key_blocks,
    training_round_count,
)

#: Fewest rounds a key block can use (the pipeline's lower limit on ``block_rounds``).
MIN_ROUNDS = 8
#: Largest ``abs(measurement)`` accepted: squares summed over rounds (sample covariances) stay
#: finite.
MAX_ABS = 1e100

_OPTION = "--measurements"


def load_measurements(path, *, what: str = _OPTION) -> dict:
    """Read and check a measurement file (format in the module docstring).

    Parameters
    ----------
    path : str or Path
        ``.npz`` or ``.mat`` file.
    what : str
        The option or noun naming the file in messages.

    Returns
    -------
    dict
        ``alice``, ``bob`` [n_rounds, n_users, n_components] (float64 or complex128),
        ``correlation`` [n_users, n_components] float64 or None, ``analytic_kr_bits`` [n_users]
        float64 or None, ``n_rounds`` (int) and ``source`` (the file, as messages name it).

    Raises
    ------
    FileNotFoundError
        No such file.
    PlkgInputError
        Another extension, an unreadable file, a missing field, a shape, dtype or value outside
        the format; one line naming the file and the field.
    """
    path = Path(path)
    source = source_name(what, path)
    data = read_arrays(
        path,
        what=what,
        fields=("alice", "bob"),
        optional=("correlation", "analytic_kr_bits"),
        **_memory_budget(),
    )
    user_axis = np.ndim(data["alice"]) == 3
    alice, bob = _paired_fields(data, source, "correlation" in data)
    n_rounds, n_users, n_comp = alice.shape
    out = {
        "alice": alice,
        "bob": bob,
        "correlation": None,
        "analytic_kr_bits": None,
        "n_rounds": int(n_rounds),
        "source": source,
    }
    is_mat = path.suffix.lower() == ".mat"
    if "correlation" in data:
        out["correlation"] = _correlation(
            data["correlation"], alice.shape[1:], user_axis, source, is_mat
        )
    if "analytic_kr_bits" in data:
        kr = data["analytic_kr_bits"]
        kr = check_array(
            matlab_vector(kr) if is_mat else kr,
            source=source,
            field="analytic_kr_bits",
            dims=[[("n_users", n_users)]] + ([] if user_axis else [[]]),
        ).reshape(n_users)
        if np.any(kr < 0):
            raise PlkgInputError(f"{source}: 'analytic_kr_bits' must be >= 0, got {kr.min():g}")
        out["analytic_kr_bits"] = kr
    return out


def _memory_budget() -> dict:
    """The file's arrays may declare at most a quarter of the available memory: they are
    converted to float64 / complex128 (up to 4x an int16 or float32 file) and sliced per block."""
    from plkg.machine import available_memory_bytes

    available = available_memory_bytes()
    if available is None:
        return {}
    return {"max_bytes": available // 4, "max_bytes_why": "a quarter of the memory available"}


def _paired_fields(
    data: dict, source: str, public_correlation: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``alice`` and ``bob`` checked and given a user axis: [n_rounds, n_users, n_components]."""
    shapes = [[("n_rounds", None), ("n_components", None)]]
    shapes.append([("n_rounds", None), ("n_users", None), ("n_components", None)])
    ends = {}
    for key in ("alice", "bob"):
        ends[key] = check_array(
            data[key], source=source, field=key, dims=shapes, kind="complex", max_abs=MAX_ABS
        )
    alice, bob = ends["alice"], ends["bob"]
    if alice.shape != bob.shape:
        raise PlkgInputError(
            f"{source}: 'alice' and 'bob' must have the same shape [n_rounds, (n_users,) "
            f"n_components], got {list(alice.shape)} and {list(bob.shape)}"
        )
    if np.iscomplexobj(alice) != np.iscomplexobj(bob):
        kinds = ["complex" if np.iscomplexobj(a) else "real" for a in (alice, bob)]
        raise PlkgInputError(
            f"{source}: 'alice' is {kinds[0]} and 'bob' is {kinds[1]}; both ends must be real "
            "or both complex"
        )
    if alice.ndim == 2:
        alice, bob = alice[:, None, :], bob[:, None, :]
    _check_sizes(alice.shape, source, public_correlation)
    for key, arr in (("alice", alice), ("bob", bob)):
        _refuse_constant_links(arr, key, source)
    return alice, bob


def _check_sizes(shape: tuple[int, int, int], source: str, public_correlation: bool) -> None:
    """Sizes of [n_rounds, n_users, n_components]; more components than rounds only with a
    public ``correlation`` (then no covariance is estimated)."""
    n_rounds, n_users, n_comp = shape
    dims = f"[n_rounds={n_rounds}, n_users={n_users}, n_components={n_comp}]"
    if n_users < 1 or n_comp < 1:
        raise PlkgInputError(
            f"{source}: 'alice' and 'bob' {dims} hold no measurements (need n_users >= 1 and "
            "n_components >= 1)"
        )
    if n_rounds < MIN_ROUNDS:
        raise PlkgInputError(
            f"{source}: 'alice' and 'bob' {dims}: need at least {MIN_ROUNDS} rounds, got {n_rounds}"
        )
    if n_comp > n_rounds and not public_correlation:
        raise PlkgInputError(
            f"{source}: 'alice' and 'bob' {dims} have more components than rounds; a sample "
            f"covariance of D components from fewer than D rounds is singular, so at most "
            f"{n_rounds} components per link can be used: measure more rounds or store fewer "
            "components (`--max-components` then limits how many are kept after decorrelation), "
            "or give the public 'correlation' of independent components"
        )


def _refuse_constant_links(arr: np.ndarray, key: str, source: str) -> None:
    """A link whose measurements do not vary over the rounds carries no randomness."""
    for k in range(arr.shape[1]):  # per link: bounded work per step
        x = arr[:, k, :]
        if not np.any(x != x[:1]):
            raise PlkgInputError(
                f"{source}: {key!r} of link {k + 1} is the same in every round (value "
                f"{x.flat[0]:.3g}); there is no randomness to quantise"
            )


def _correlation(raw, shape, user_axis: bool, source: str, is_mat: bool) -> np.ndarray:
    """``correlation`` shaped like one round of the file, in [0, 1]; as [n_users, n_components]."""
    n_users, n_comp = shape
    raw = np.asarray(raw)
    if is_mat and not user_axis:  # MATLAB's [1, D] / [D, 1] for a vector
        raw = matlab_vector(raw)
    dims = [("n_components", n_comp)]
    if user_axis:
        dims.insert(0, ("n_users", n_users))
    rho = check_array(raw, source=source, field="correlation", dims=dims)
    if np.any(rho < 0) or np.any(rho > 1):
        bad = rho[(rho < 0) | (rho > 1)].flat[0]
        raise PlkgInputError(f"{source}: 'correlation' must lie in [0, 1], got {bad:g}")
    return rho.reshape(n_users, n_comp)


def measurement_key_generation(
    data: dict,
    rng: np.random.Generator,
    config: KeyGenConfig | None = None,
    block_rounds: int | None = None,
    progress=None,
) -> dict:
    """Run the pipeline on every link of :func:`load_measurements` output.

    Links and blocks are processed one at a time in Python, so Ctrl-C / SIGTERM are seen
    between blocks. ``progress("link k")``, when given, is called after every block (e.g. a
    progress bar's tick). Links are numbered from 1 in labels, messages and ``link``.

    Returns
    -------
    dict with ``system = "measurements"``, ``rounds`` (the file's rounds) and per link
    (``users``, in link order) ``user`` (0-based index into the file's link axis), ``link``
    (its number from 1), the aggregate of :func:`plkg.keygen.key_result.aggregate`, ``analytic_kr_bits`` /
    ``efficiency`` when given, and the per-block results under ``"blocks"``.

    Raises
    ------
    PlkgInputError
        ``block_rounds`` outside [8, n_rounds], below the number of components (without a
        public ``correlation``), or too short for the training rounds of ``config`` (:func:`plkg.keygen.alignment.training_round_count`).
    """
    alice, bob = data["alice"], data["bob"]
    n_rounds, n_users, n_comp = alice.shape
    block = n_rounds if block_rounds is None else block_rounds
    if isinstance(block, bool) or int(block) != block or not MIN_ROUNDS <= block <= n_rounds:
        raise PlkgInputError(
            f"--block-rounds must be an integer in [{MIN_ROUNDS}, {n_rounds}] (the file's "
            f"rounds), got {block_rounds!r}"
        )
    block = int(block)
    source = data.get("source", "the measurements")
    rho0 = None if data.get("correlation") is None else data["correlation"][0]
    if n_comp > block and rho0 is None:
        raise PlkgInputError(
            f"--block-rounds {block} is below the {n_comp} components per link of {source}: a "
            "sample covariance of D components from fewer than D rounds is singular"
        )
    try:  # the training split of a block, checked once before any work
        training_round_count(
            block,
            config or KeyGenConfig(),
            rho0,
            n_comp,
            block_name="--block-rounds",
            fraction_name="--training-fraction",
        )
    except ValueError as exc:
        raise PlkgInputError(f"{source}: {exc}") from exc
    users = []
    for k in range(n_users):
        rho = None if data.get("correlation") is None else data["correlation"][k]
        blocks = key_blocks(
            alice[:, k], bob[:, k], rng, config, block, rho, progress, f"link {k + 1}"
        )
        entry = {"user": k, "link": k + 1, **aggregate(blocks)}
        kr = data.get("analytic_kr_bits")
        if kr is not None:
            entry["analytic_kr_bits"] = float(kr[k])
            entry["efficiency"] = entry["final_bits_per_round"] / kr[k] if kr[k] > 0 else None
        entry["blocks"] = blocks
        users.append(entry)
    return {"system": "measurements", "method": "measured", "rounds": int(n_rounds), "users": users}
