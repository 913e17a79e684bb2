"""Sweep task functions: plain data in (one task of :func:`plkg.sweep.spec.expand`), plain rows out.

A task is one scenario. Its expensive part (near-field: Monte-Carlo CCM + block-diagonalisation
design, Sections III-IV of the near-field paper; RIS: channel statistics, Section V-A of the RIS
paper) is computed once and shared by every (P_a, method) evaluation of the task. Every evaluation
becomes one row (:data:`ROW_FIELDS`). A scenario that cannot be built becomes one error row (method
and P_a empty); a method that fails at one P_a becomes an error row for that (P_a, method) and the
others go on. Exceptions never leave :func:`run_task`.
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from plkg.io.sidecar_hash import file_sha256

# Columns of every row, in table order (the swept parameters go after ``eval_index``).
ROW_FIELDS = (
    "task_id",
    "task_index",
    "task_seed",
    "eval_index",
    "pa_dbm",
    "scenario",
    "fingerprint",
    "method",
    "status",
    "kr_bits",
    "sum_kr_bits",
    "min_kr_bits",
    "wskr_bits",
    "ub_bits",
    "n_subchannels",
    "iterations",
    "seconds",
    "design_seconds",
    "error",
)


def run_task(task: dict) -> list[dict]:
    """All rows of one sweep task (dispatches on ``task["system"]``); never raises.

    Runs with progress output off (:func:`plkg.progress.quiet`): the sweep's own bar reports it.
    """
    from plkg.progress import quiet

    with quiet():
        if task["system"] == "nearfield":
            return nearfield_rows(task)
        if task["system"] == "ris":
            return ris_rows(task)
        return [error_row(task, None, ValueError(f"unknown system {task['system']!r}"))]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def _base_row(task: dict, eval_index: int | None) -> dict:
    row = dict.fromkeys(ROW_FIELDS)
    row.update(
        task_id=task["task_id"],
        task_index=task["index"],
        task_seed=task["seed"],
        eval_index=eval_index,
        scenario=task["scenario"].get("name"),
    )
    row.update(task["params"])
    return row


def error_row(task: dict, evaluation: dict | None, exc: BaseException, **fields) -> dict:
    """A row with ``status = "error"`` and ``error`` = the exception's type and first line."""
    row = _base_row(task, None if evaluation is None else evaluation["index"])
    if evaluation is not None:
        row.update(pa_dbm=evaluation["pa_dbm"], method=evaluation["method"])
    row.update(fields, status="error", error=_describe(exc))
    return row


def _evaluations(task: dict) -> list[dict]:
    """The task's evaluations with their ``index`` (kept where given: a task that completes an
    extended table runs only its missing evaluations, under their positions in the spec)."""
    return [{**ev, "index": ev.get("index", i)} for i, ev in enumerate(task["evaluations"])]


def ris_fingerprint(scenario) -> str:
    """SHA-256 (16 hex digits) of every RIS scenario field except ``name``."""
    d = scenario.to_dict()
    d.pop("name", None)
    blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- near field
def nearfield_rows(task: dict) -> list[dict]:
    """Rows of a near-field task: per (P_a, method), I_k of Eq. (17) of the near-field paper for
    the method's allocation on the scenario's subchannel design (Eq. (39) precoders), as
    ``plkg keyrate`` computes it (with the spec's checkpoint of a learned method, if given)."""
    from plkg.channels.nearfield_scenario import NearFieldScenario
    from plkg.precoding.design_cache import design_for_scenario

    t0 = time.perf_counter()
    try:
        scenario = NearFieldScenario.from_dict(task["scenario"])
        design = design_for_scenario(scenario)
    except Exception as exc:  # a bad scenario is a result (an error row), not a crash
        return [error_row(task, None, exc, seconds=time.perf_counter() - t0)]
    design_s = time.perf_counter() - t0
    shared = {
        "fingerprint": scenario.fingerprint(),
        "n_subchannels": int(design.n_total),
        "design_seconds": design_s,
    }
    checkpoints = _checked_checkpoints(task)
    return [
        _nearfield_row(task, ev, scenario, design, shared, checkpoints) for ev in _evaluations(task)
    ]


def _checked_checkpoints(task: dict) -> dict:
    """Method -> checkpoint path, or the exception that makes the method's rows error rows.

    The spec recorded each checkpoint's SHA-256 when it was read; a worker loads the file again by
    its path, so the file is checked against that digest first: a checkpoint replaced or damaged
    since (or another file at that path on a cluster node) gives error rows, never rows computed
    with other weights. (The loader then verifies the sidecar against these same bytes.)
    """
    out = {}
    for method, entry in (task.get("checkpoints") or {}).items():
        path, expected = entry["path"], entry.get("sha256")
        shown = f"checkpoint {path!r} of method {method}"
        try:
            found = file_sha256(path)
        except OSError as exc:
            out[method] = OSError(f"{shown} cannot be read ({type(exc).__name__}: {exc})")
            continue
        if expected is not None and found != expected:
            out[method] = ValueError(
                f"{shown} has SHA-256 {found}, the spec recorded {expected} "
                "(the file changed after the spec was read)"
            )
            continue
        out[method] = path
    return out


def _nearfield_row(task, ev, scenario, design, shared, checkpoints) -> dict:
    from plkg import units
    from plkg.inference.methods import allocate
    from plkg.keyrate.evaluate import evaluate_allocation

    t0 = time.perf_counter()
    try:
        pa_w = float(units.dbm_to_w(ev["pa_dbm"]))
        # the NumPy forward of the learned methods, as plkg keyrate (no torch import per worker)
        options = {"scenario": scenario, "backend": "numpy"}
        checkpoint = checkpoints.get(ev["method"])
        if isinstance(checkpoint, Exception):
            raise checkpoint
        if checkpoint is not None:  # the spec's checkpoint of this method, checked
            options["checkpoint"] = checkpoint
        result = allocate(ev["method"], design, pa_w, **options)
        report = evaluate_allocation(design, result.x_w)
    except Exception as exc:
        return error_row(task, ev, exc, **shared, seconds=time.perf_counter() - t0)
    row = _base_row(task, ev["index"])
    row.update(
        shared,
        pa_dbm=ev["pa_dbm"],
        method=ev["method"],
        status=str(result.status),
        kr_bits=[float(v) for v in report.kr_bits],
        sum_kr_bits=report.sum_kr_bits,
        min_kr_bits=report.min_kr_bits,
        iterations=int(result.iterations),
        seconds=time.perf_counter() - t0,
    )
    return row


# ----------------------------------------------------------------------------- RIS
def ris_rows(task: dict) -> list[dict]:
    """Rows of a RIS task: per (P_A, method), R_k of Theorem 1 of the RIS paper per cell, the
    weighted sum (WSKR) and the Theorem 2 bound, from :func:`plkg.solvers.ris_alternating.solve_ris`
    (``rand-phase``: mean over ``options.rand_phase_draws`` draws, default 1)."""
    from plkg.channels.ris_multicell import build_channel_model
    from plkg.channels.ris_scenario import RISScenario

    t0 = time.perf_counter()
    try:
        scenario = RISScenario(**task["scenario"])
        model = build_channel_model(scenario)
    except Exception as exc:
        return [error_row(task, None, exc, seconds=time.perf_counter() - t0)]
    shared = {"fingerprint": ris_fingerprint(scenario), "design_seconds": time.perf_counter() - t0}
    return [_ris_row(task, ev, scenario, model, shared) for ev in _evaluations(task)]


def _ris_model_at(scenario, model, pa_dbm):
    """The channel model at BS power P_A (only ``bs_power_w`` depends on it)."""
    import dataclasses

    if pa_dbm is None:
        return model, scenario.bs_power_dbm
    power = scenario.replace(bs_power_dbm=float(pa_dbm))  # validates the power
    return dataclasses.replace(model, bs_power_w=power.bs_power_w), float(pa_dbm)


def _ris_row(task, ev, scenario, model, shared) -> dict:
    from plkg.solvers.ris_alternating import solve_ris, solve_ris_batched

    t0 = time.perf_counter()
    options = dict(task.get("options") or {})
    draws = int(options.pop("rand_phase_draws", 1))
    pa_dbm = ev["pa_dbm"]
    try:
        model_p, pa_dbm = _ris_model_at(scenario, model, pa_dbm)
        rng = np.random.default_rng(ev["rng"])
        if ev["method"] == "rand-phase":  # the draws run as one batch
            runs = solve_ris_batched(model_p, "rand-phase", n_starts=draws, rng=rng, **options)
        else:
            runs = [solve_ris(model_p, ev["method"], rng=rng, **options)]
    except Exception as exc:
        return error_row(task, ev, exc, **shared, pa_dbm=pa_dbm, seconds=time.perf_counter() - t0)
    kr = np.mean([r.kgr_bits for r in runs], axis=0)
    row = _base_row(task, ev["index"])
    row.update(
        shared,
        pa_dbm=pa_dbm,
        method=ev["method"],
        status=runs[0].status if len(runs) == 1 else "mean_of_draws",
        kr_bits=[float(v) for v in kr],
        sum_kr_bits=float(np.sum(kr)),
        min_kr_bits=float(np.min(kr)),
        wskr_bits=float(np.mean([r.wskr_bits for r in runs])),
        ub_bits=float(np.mean([r.ub_sum_bits for r in runs])),
        iterations=int(max(r.iterations for r in runs)),
        seconds=time.perf_counter() - t0,
    )
    return row
