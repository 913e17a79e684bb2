"""Shared steps of the P_a -> label datasets (:mod:`plkg.data.sumrate_dataset`,
:mod:`plkg.data.fairness_dataset`): power draws, split, common sidecar fields and the final
save/load."""

from __future__ import annotations

import contextlib

import numpy as np

from plkg import units
from plkg._version import __version__
from plkg.data.dataset import Dataset, load_dataset, make_split, save_dataset
from plkg.errors import SolverError

# P_a range (dBm) of both learned allocators' datasets: covers the Fig. 6 sweep.
DEFAULT_PA_DBM_RANGE = (-10.0, 30.0)
# Width (dB) of the power bands that group samples into sweep-engine tasks: the band of
# plkg.solvers.maxmin_cvxpy.BandedMaxMin, so each task compiles one CVXPY problem.
LABEL_BAND_DB = 10.0


def sample_powers_dbm(rng: np.random.Generator, n_samples: int, pa_dbm_range, sampling: str):
    """P_a samples [T] in dBm: uniform in dBm (``"dbm"``) or uniform in watt (``"w"``)."""
    lo, hi = (float(v) for v in pa_dbm_range)
    if not (np.isfinite(lo) and np.isfinite(hi)) or not lo < hi:
        raise ValueError(f"power range must be finite with p_min < p_max, got {pa_dbm_range}")
    if sampling == "dbm":
        return rng.uniform(lo, hi, int(n_samples))
    if sampling == "w":
        pw = rng.uniform(units.dbm_to_w(lo), units.dbm_to_w(hi), int(n_samples))
        return units.w_to_dbm(pw)
    raise ValueError(f"sampling must be 'dbm' or 'w', got {sampling!r}")


def draw_powers(scenario, design, n_samples, pa_dbm_range, seed, sampling, split_counts):
    """``(design, pa_dbm [T], split [T], pa_w [T])``: the design (computed from ``scenario`` if
    None), seeded P_a draws and the train/val/test split from the same generator."""
    if design is None:
        from plkg.precoding.design_cache import design_for_scenario

        design = design_for_scenario(scenario)
    rng = np.random.default_rng(int(seed))
    pa_dbm = sample_powers_dbm(rng, n_samples, pa_dbm_range, sampling)
    split = make_split(len(pa_dbm), rng, split_counts)
    return design, pa_dbm, split, units.dbm_to_w(pa_dbm)


def power_range_text(pa_dbm_range) -> str:
    """``"power range LO..HI dBm"``: how a generator's refusal names the option to change."""
    lo, hi = (float(v) for v in pa_dbm_range)
    return f"power range {lo:g}..{hi:g} dBm"


@contextlib.contextmanager
def naming_power_range(pa_dbm_range):
    """Re-raise a solver's :class:`~plkg.errors.SolverError` with the power range appended.

    Which check refuses an absurd range first (the solver's own certificate, a residual, the
    degenerate-label check) depends on round-off; every one of them then names the range.
    """
    try:
        yield
    except SolverError as exc:
        raise SolverError(f"{exc} ({power_range_text(pa_dbm_range)})") from exc


def power_meta(label: dict, scenario, design, pa_dbm_range, sampling, seed, **fields) -> dict:
    """Sidecar metadata of a P_a (dBm) dataset: ``label`` (``kind``, ``label_name``,
    ``label_units``, ``label_description``), the scenario, range and sampling, then ``fields``
    (solver details), seed, package version and the design's subchannel counts."""
    return {
        "kind": label["kind"],
        "input_name": "pa_dbm",
        "input_units": "dBm",
        "label_name": label["label_name"],
        "label_units": label["label_units"],
        "label_description": label["label_description"],
        "scenario_name": scenario.name,
        "scenario_fingerprint": scenario.fingerprint(),
        "input_range": [float(pa_dbm_range[0]), float(pa_dbm_range[1])],
        "power_units": "dBm",
        "sampling": "uniform_dbm" if sampling == "dbm" else "uniform_w",
        **fields,
        "seed": int(seed),
        "package_version": __version__,
        "n_subchannels": list(design.n_subchannels),
    }


def label_tasks(design, pa_w, band_db: float = LABEL_BAND_DB) -> list[dict]:
    """Sweep-engine tasks over the samples: one per ``band_db`` power band (10 dB bands ending at
    multiples of 10 dBm, as :class:`plkg.solvers.maxmin_cvxpy.BandedMaxMin` compiles them), samples
    in their original order. A task does exactly what the serial loop did for that band, so the
    labels are the same for every worker count. Each task holds the design constants ``m_a``,
    ``m_b``, ``user`` [N_D], ``n_users`` and its samples' ``index`` and ``pa_w`` (W) lists."""
    pa_w = np.asarray(pa_w, dtype=np.float64)
    with np.errstate(divide="ignore"):  # P_a = 0 gets its own band; the solver then names it
        band = np.ceil(10.0 * np.log10(pa_w * 1e3) / band_db - 1e-9)
    constants = {
        "m_a": np.asarray(design.m_a),
        "m_b": np.asarray(design.m_b),
        "user": np.asarray(design.user),
        "n_users": int(design.n_users),
    }
    tasks = []
    for b in sorted(set(band.tolist())):
        index = np.flatnonzero(band == b)
        tasks.append({**constants, "index": index.tolist(), "pa_w": pa_w[index].tolist()})
    return tasks


def run_label_tasks(fn, design, pa_w) -> list[dict]:
    """``fn`` over :func:`label_tasks` on the execution layer (:mod:`plkg.parallel`) of the enclosing
    :func:`plkg.parallel.engine.session` (serial without one); ``fn`` returns one dict with an
    ``index`` per sample. Returns them sorted by ``index``. One BLAS thread per task everywhere,
    so the labels do not depend on the worker count. Progress (samples labelled) goes to stderr
    through :func:`plkg.progress.progress_bar`."""
    from plkg.parallel.engine import session_client
    from plkg.parallel.runner import iter_results
    from plkg.progress import progress_bar

    tasks = label_tasks(design, pa_w)
    items = []
    # progress on stderr per finished band (:mod:`plkg.progress`): labelling takes minutes
    with progress_bar(len(np.atleast_1d(pa_w)), desc="labels", unit="sample") as bar:
        for task, chunk, error in iter_results(fn, tasks, session_client(), pin_threads=True):
            if error is not None:
                raise error
            items.extend(chunk)
            bar.update(len(task["index"]))
    return sorted(items, key=lambda item: item["index"])


def design_arrays(design) -> dict:
    """The subchannel constants ``m_a``, ``m_b``, ``user`` [N_D] stored with the data."""
    return {"m_a": design.m_a, "m_b": design.m_b, "user": design.user}


def finish(out_path, pa_dbm, labels, split, meta: dict, extras: dict) -> Dataset:
    """Write and reload the dataset if ``out_path`` is given, else return it in memory."""
    if out_path is not None:
        save_dataset(out_path, pa_dbm, labels, split, meta, extras)
        return load_dataset(out_path)
    return Dataset(inputs=pa_dbm, labels=labels, split=split, meta=meta, extras=extras)
