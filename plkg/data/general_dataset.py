"""Datasets over random near-field geometries for the generalising allocator.

Each sample is one (design, P_b, P_a) triple: the subchannel constants m_a, m_b, user of Eq. (42)
of the near-field paper for a random geometry, and the exact labels

* ``mu`` (bits/W): the Lagrange multiplier of (P1), exact water-filling (Eqs. (47)-(48),
  :func:`plkg.solvers.water_filling.water_filling`);
* ``t`` (bits): the max-min key rate of (P2), Eq. (52) (:class:`plkg.solvers.maxmin_exact.ExactMaxMin`).

Design computation dominates the cost, so each design is reused for ``n_pb`` uplink powers P_b
(P_b only rescales m_a = sigma_a^2/(Q P_b lambda_h); the null spaces and lambda_h do not depend on
it) and ``n_pa`` budgets P_a per P_b. Geometries whose design has a UE without a subchannel
(D_k = 0, UEs too close in angle for N) are redrawn from the next seeded sub-stream.

File layout (``NAME.npz``, no pickle, + ``NAME.json`` sidecar with the npz SHA-256)::

    set_m_a, set_m_b [total_D] float64, set_user [total_D] int64  (all sets concatenated)
    set_offsets [S + 1] int64     subchannels of set s are set_offsets[s]:set_offsets[s+1]
    set_geometry [S] int64, set_pb_dbm [S] float64, set_n_users [S] int64
    geom_n_antennas [G], geom_n_users [G], geom_distance_m [G, 10], geom_angle_rad [G, 10] (NaN pad)
    sample_set [T] int64, pa_dbm [T], mu [T], t [T], split [T] int8 (0 train, 1 val, by geometry)

Generation runs one task per geometry through :func:`plkg.parallel.runner.iter_results`, on the Dask
workers of :func:`plkg.parallel.engine.session` when ``workers > 1``; every task is a pure function of
``(seed, index)``, so the file is the same for any worker count.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from plkg import units
from plkg._version import __version__

FORMAT = "plkg-general-dataset-1"
MAX_USERS_STORED = 10
MAX_REDRAWS = 50


@dataclass(frozen=True)
class GeometrySpec:
    """Distribution of random geometries and powers (units in the field names).

    Defaults: K in 2..8, N in 64..512 (drawn from ``n_antennas_choices`` with weights ~ N^-2, so
    each N bucket costs about the same design time), UE distances 15-120 m, angles within
    +-1.2 rad with at least ``min_angle_sep_rad`` between UEs, P_b 10-30 dBm, P_a -10-30 dBm
    (the committed Fig. 6 datasets' range). Everything else is the Fig. 6 scenario
    (``plkg.defaults`` config ``fig6``): 3.5 GHz, d = lambda/2, -114 dBm noise, epsilon = 3.5.
    """

    k_min: int = 2
    k_max: int = 8
    n_antennas_choices: tuple[int, ...] = (64, 96, 128, 192, 256, 384, 512)
    distance_m: tuple[float, float] = (15.0, 120.0)
    angle_rad: tuple[float, float] = (-1.2, 1.2)
    min_angle_sep_rad: float = 0.05
    pb_dbm: tuple[float, float] = (10.0, 30.0)
    pa_dbm: tuple[float, float] = (-10.0, 30.0)
    n_pb: int = 2
    n_pa: int = 20

    def __post_init__(self):
        if not 2 <= self.k_min <= self.k_max <= MAX_USERS_STORED:
            raise ValueError(f"need 2 <= k_min <= k_max <= {MAX_USERS_STORED}")
        for name in ("distance_m", "angle_rad", "pb_dbm", "pa_dbm"):
            lo, hi = getattr(self, name)
            if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
                raise ValueError(f"{name} must be a finite (low, high) pair, got {(lo, hi)}")
        if self.n_pb < 1 or self.n_pa < 1:
            raise ValueError("n_pb and n_pa must be >= 1")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> GeometrySpec:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


# Out-of-distribution geometries of the evaluation (K = 10, N = 1024, farther UEs).
OOD_SPEC = GeometrySpec(
    k_min=10, k_max=10, n_antennas_choices=(1024,), distance_m=(120.0, 200.0), n_pb=1, n_pa=10
)


def draw_scenario(rng: np.random.Generator, spec: GeometrySpec):
    """One random :class:`NearFieldScenario` (Fig. 6 defaults, random K, N, r_k, psi_k)."""
    from plkg.channels.nearfield_scenario import NearFieldScenario

    k = int(rng.integers(spec.k_min, spec.k_max + 1))
    choices = np.asarray(spec.n_antennas_choices, dtype=np.float64)
    weights = choices**-2 / np.sum(choices**-2)
    n = int(rng.choice(spec.n_antennas_choices, p=weights))
    while True:
        angles = rng.uniform(*spec.angle_rad, size=k)
        if k < 2 or np.min(np.diff(np.sort(angles))) >= spec.min_angle_sep_rad:
            break
    distances = rng.uniform(*spec.distance_m, size=k)
    return NearFieldScenario(
        n_antennas=n,
        ue_distance_m=tuple(distances),
        ue_angle_rad=tuple(angles),
        name="random",
    )


def design_constants(design, pb_dbm: float, noise_bs_w: float, q: int) -> np.ndarray:
    """m_a [N_D] of a design at uplink power ``pb_dbm`` (m_a = sigma_a^2/(Q P_b lambda_h))."""
    return noise_bs_w / (q * units.dbm_to_w(pb_dbm) * np.asarray(design.lambda_h))


def label_constants(m_a, m_b, user, n_users: int, pa_w) -> tuple[np.ndarray, np.ndarray]:
    """Exact labels (mu [B] bits/W by water-filling, t [B] bits by exact max-min) at budgets pa_w."""
    from plkg.solvers.maxmin_exact import ExactMaxMin
    from plkg.solvers.water_filling import water_filling

    pa_w = np.asarray(pa_w, dtype=np.float64)
    mu = np.asarray(water_filling(pa_w, m_a, m_b).mu, dtype=np.float64)
    sol = ExactMaxMin(m_a, m_b, user, n_users).solve(pa_w)
    if sol.status != "optimal":
        raise RuntimeError(f"exact max-min did not converge ({sol.status})")
    return mu, np.asarray(sol.t_bits, dtype=np.float64)


def label_geometry(task: dict) -> dict:
    """Task of one geometry: draw (redrawing empty designs), design, labels. Plain data in/out.

    ``task``: ``seed``, ``index``, ``spec`` (dict of :class:`GeometrySpec`).
    """
    from plkg.precoding.block_diagonalization import compute_design

    spec = GeometrySpec.from_dict(task["spec"])
    for attempt in range(MAX_REDRAWS):
        rng = np.random.default_rng([int(task["seed"]), int(task["index"]), attempt])
        scenario = draw_scenario(rng, spec)
        try:
            design = compute_design(scenario)
        except ValueError:
            continue
        break
    else:
        raise RuntimeError(f"no valid geometry in {MAX_REDRAWS} draws for task {task['index']}")
    m_b = np.asarray(design.m_b, dtype=np.float64)
    user = np.asarray(design.user, dtype=np.int64)
    sets = []
    for _ in range(spec.n_pb):
        pb_dbm = float(rng.uniform(*spec.pb_dbm))
        m_a = design_constants(design, pb_dbm, scenario.noise_bs_w, scenario.uplink_pilot_len)
        pa_dbm = np.sort(rng.uniform(*spec.pa_dbm, size=spec.n_pa))
        mu, t = label_constants(m_a, m_b, user, scenario.n_users, units.dbm_to_w(pa_dbm))
        sets.append({"pb_dbm": pb_dbm, "m_a": m_a, "pa_dbm": pa_dbm, "mu": mu, "t": t})
    return {
        "index": int(task["index"]),
        "attempts": attempt + 1,
        "n_antennas": scenario.n_antennas,
        "distance_m": list(scenario.ue_distance_m),
        "angle_rad": list(scenario.ue_angle_rad),
        "m_b": m_b,
        "user": user,
        "sets": sets,
    }


def run_geometry_tasks(tasks: list[dict], workers: int | None = None, progress=None) -> list[dict]:
    """``label_geometry`` over ``tasks`` on the execution layer (plkg.parallel) (serial for workers None/1).

    Results come back in task order. ``progress(done, total)`` is called as tasks finish.
    """
    from plkg.parallel.engine import session, session_client
    from plkg.parallel.runner import iter_results

    results: dict[int, dict] = {}
    with session(workers=workers):
        client = session_client()
        for task, result, error in iter_results(label_geometry, tasks, client, client is not None):
            if error is not None:
                raise error
            results[task["index"]] = result
            if progress is not None:
                progress(len(results), len(tasks))
    return [results[t["index"]] for t in tasks]


def _pack(results: list[dict], spec: GeometrySpec, val_fraction: float, rng) -> dict:
    n_geom = len(results)
    dist = np.full((n_geom, MAX_USERS_STORED), np.nan)
    ang = np.full((n_geom, MAX_USERS_STORED), np.nan)
    g_n, g_k = np.zeros(n_geom, np.int64), np.zeros(n_geom, np.int64)
    m_a, m_b, user, offsets = [], [], [], [0]
    set_geom, set_pb, set_k = [], [], []
    s_set, s_pa, s_mu, s_t = [], [], [], []
    for g, res in enumerate(results):
        k = len(res["distance_m"])
        dist[g, :k], ang[g, :k] = res["distance_m"], res["angle_rad"]
        g_n[g], g_k[g] = res["n_antennas"], k
        for st in res["sets"]:
            s = len(set_geom)
            m_a.append(st["m_a"])
            m_b.append(res["m_b"])
            user.append(res["user"])
            offsets.append(offsets[-1] + len(res["user"]))
            set_geom.append(g)
            set_pb.append(st["pb_dbm"])
            set_k.append(k)
            s_set += [s] * len(st["pa_dbm"])
            s_pa.append(st["pa_dbm"])
            s_mu.append(st["mu"])
            s_t.append(st["t"])
    is_val = rng.permutation(n_geom) < int(round(val_fraction * n_geom))
    sample_set = np.asarray(s_set, dtype=np.int64)
    return {
        "set_m_a": np.concatenate(m_a),
        "set_m_b": np.concatenate(m_b),
        "set_user": np.concatenate(user),
        "set_offsets": np.asarray(offsets, dtype=np.int64),
        "set_geometry": np.asarray(set_geom, dtype=np.int64),
        "set_pb_dbm": np.asarray(set_pb, dtype=np.float64),
        "set_n_users": np.asarray(set_k, dtype=np.int64),
        "geom_n_antennas": g_n,
        "geom_n_users": g_k,
        "geom_distance_m": dist,
        "geom_angle_rad": ang,
        "sample_set": sample_set,
        "pa_dbm": np.concatenate(s_pa),
        "mu": np.concatenate(s_mu),
        "t": np.concatenate(s_t),
        "split": is_val[np.asarray(set_geom)[sample_set]].astype(np.int8),
    }


def generate_general_dataset(
    out_path,
    n_geometries: int,
    seed: int,
    spec: GeometrySpec | None = None,
    workers: int | None = None,
    val_fraction: float = 0.15,
    progress=None,
) -> Path:
    """Draw ``n_geometries`` random geometries, label them exactly and write ``out_path`` (.npz).

    Parameters
    ----------
    out_path : path
        ``.npz`` file; the sidecar is the same name with ``.json``.
    n_geometries : int
    seed : int
        Geometry ``i`` uses the sub-stream ``[seed, i, attempt]``; the validation split (by
        geometry, ``val_fraction``) uses ``[seed, -1]``.
    spec : GeometrySpec
    workers : int or None
        Dask workers of the execution layer (None/1: serial, in-process).
    progress : callable or None
        ``progress(done, total)`` as geometries finish; None (default): a progress bar on
        stderr (:func:`plkg.progress.progress_bar`, silent in quiet mode).

    Returns
    -------
    Path of the ``.npz``.
    """
    from plkg.data.dataset import _npz_bytes
    from plkg.io.atomic import write_bytes_atomic, write_text_atomic
    from plkg.io.sidecar_hash import with_sidecar_sha256
    from plkg.precoding.block_diagonalization import DESIGN_VERSION

    if int(n_geometries) < 1:
        raise ValueError(f"n_geometries must be >= 1, got {n_geometries}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    spec = spec or GeometrySpec()
    tasks = [
        {"seed": int(seed), "index": i, "spec": spec.to_dict()} for i in range(int(n_geometries))
    ]
    if progress is None:
        from plkg.progress import progress_bar

        with progress_bar(len(tasks), desc="general dataset", unit="geometry") as bar:
            results = run_geometry_tasks(
                tasks, workers=workers, progress=lambda done, total: bar.update(done - bar.n)
            )
    else:
        results = run_geometry_tasks(tasks, workers=workers, progress=progress)
    arrays = _pack(results, spec, val_fraction, np.random.default_rng([int(seed), 2**31 - 1]))
    blob = _npz_bytes(arrays)
    meta = {
        "format": FORMAT,
        "description": "random near-field geometries; labels mu (exact WF) and t (exact max-min)",
        "spec": spec.to_dict(),
        "seed": int(seed),
        "n_geometries": int(n_geometries),
        "n_sets": int(arrays["set_geometry"].size),
        "n_samples": int(arrays["pa_dbm"].size),
        "redraws": int(sum(r["attempts"] - 1 for r in results)),
        "labels": {
            "mu": {"units": "bit/W", "solver": "plkg.solvers.water_filling.water_filling"},
            "t": {"units": "bit", "solver": "plkg.solvers.maxmin_exact.ExactMaxMin"},
        },
        "input_units": {"pa_dbm": "dBm", "set_pb_dbm": "dBm", "set_m_a": "1", "set_m_b": "W"},
        "val_fraction": float(val_fraction),
        "package_version": __version__,
        # the design algorithm's version: labels from another version are other data
        "design_version": DESIGN_VERSION,
        "npz_sha256": hashlib.sha256(blob).hexdigest(),
    }
    out_path = Path(out_path)
    write_bytes_atomic(out_path, blob)
    write_text_atomic(
        out_path.with_suffix(".json"),
        json.dumps(with_sidecar_sha256(meta), indent=2, sort_keys=True, allow_nan=False) + "\n",
    )
    return out_path


@dataclass(frozen=True)
class GeneralDataset:
    """A loaded general dataset: ``arrays`` (see module doc) and the sidecar ``meta``."""

    arrays: dict
    meta: dict

    def set_constants(self, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """(m_a, m_b, user, K) of set ``s``."""
        a, b = self.arrays["set_offsets"][s : s + 2]
        return (
            self.arrays["set_m_a"][a:b],
            self.arrays["set_m_b"][a:b],
            self.arrays["set_user"][a:b],
            int(self.arrays["set_n_users"][s]),
        )


def load_general_dataset(path) -> GeneralDataset:
    """Load and verify (npz SHA-256 and sidecar hash) a file of :func:`generate_general_dataset`."""
    from plkg.io.arrays import read_npz_bytes
    from plkg.io.sidecar_hash import read_verified

    path = Path(path)
    blob, meta = read_verified(path, "general dataset", FORMAT, "npz_sha256")
    # Decode the verified bytes, not a second read of a file that may have changed since.
    arrays = read_npz_bytes(blob, source=f"general dataset {str(path)!r}")
    return GeneralDataset(arrays=arrays, meta=meta)


def merge_general_datasets(datasets) -> GeneralDataset:
    """Concatenate loaded general datasets (e.g. two seeds) into one, in memory.

    Set, geometry and sample indices of each later dataset are shifted past the earlier ones;
    each keeps its own train/val split (by geometry). ``meta`` is the first dataset's sidecar with
    ``n_samples``/``n_geometries`` summed and ``parts`` listing every sidecar.
    """
    datasets = list(datasets)
    if len(datasets) == 1:
        return datasets[0]
    shift = {"set_offsets": "set_m_a", "sample_set": "set_geometry", "set_geometry": "geom_n_users"}
    out: dict[str, list] = {k: [] for k in datasets[0].arrays}
    base = {k: 0 for k in shift}
    for i, ds in enumerate(datasets):
        for key, value in ds.arrays.items():
            if key == "set_offsets":
                value = value[1:] if i else value
            out[key].append(value + base[key] if key in shift else value)
        for key, counted in shift.items():
            base[key] += ds.arrays[counted].shape[0]
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    meta = dict(datasets[0].meta)
    meta["n_samples"] = int(arrays["pa_dbm"].size)
    meta["n_geometries"] = int(arrays["geom_n_users"].size)
    meta["parts"] = [ds.meta for ds in datasets]
    return GeneralDataset(arrays=arrays, meta=meta)
