"""Render the JSON of ``plkg bench`` as ``docs/benchmarks.md`` (``plkg bench --markdown FILE``).

Every number in the report comes from the run that writes it.
"""

from __future__ import annotations

import math
import numbers

from plkg.io.json_text import dumps_strict, nonfinite_as_null


def _num(value, spec: str = "") -> str:
    """``format(value, spec)``, or ``n/a`` for a measurement that is missing (None) or not
    finite (NaN, inf: a ratio over a zero time); the one formatter of every number here."""
    if value is None or (isinstance(value, numbers.Real) and not math.isfinite(value)):
        return "n/a"
    return format(value, spec)


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, numbers.Real) and not math.isfinite(value)):
        return _num(value)
    if isinstance(value, float):
        if abs(value) >= 1e3:
            return f"{value:,.0f}"
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:,.{digits}g}"
        return f"{value:.{digits}e}"
    return str(value)


def _table(header: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return out + [""]


def _allocation(b: dict) -> list[str]:
    s, bt = b["single"], b["batched"]
    med = s["median_s"]
    lines = [
        "## Sum-KR allocation: FNNPA vs exact water-filling vs CVXPY (P1)",
        "",
        f"Fig. 6 scenario, N_D = {b['n_subchannels']} subchannels, one allocation at P_a = {s['pa_dbm']} dBm "
        f"(median wall time; CVXPY status `{s['cvxpy_status']}` with {s['cvxpy_solver']}).",
        "",
    ]
    lines += _table(
        ["path", "median time per allocation (ms)", "ratio to FNNPA"],
        [
            ["FNNPA (KGLM-Net -> mu -> Eq. (48))", 1e3 * med["fnnpa"], 1.0],
            ["WFPA (exact water-filling)", 1e3 * med["wfpa_exact"], s["ratio_wfpa_over_fnnpa"]],
            ["CVXPY on (P1)", 1e3 * med["cvxpy_p1"], s["ratio_cvxpy_over_fnnpa"]],
        ],
    )
    aps = bt["allocations_per_s"]
    lines += [f"Batched: {bt['n_powers']} values of P_a at once.", ""]
    lines += _table(
        ["path", "allocations per second", "time ratio to FNNPA"],
        [
            ["FNNPA (batched)", aps["fnnpa"], 1.0],
            [
                "water-filling, NumPy (batched)",
                aps["wfpa_numpy"],
                bt["ratio_wfpa_numpy_over_fnnpa_time"],
            ],
            [
                "water-filling, torch CPU (batched)",
                aps["wfpa_torch_cpu"],
                bt["ratio_wfpa_torch_over_fnnpa_time"],
            ],
        ],
    )
    lines += [
        f"FNNPA sum KR / WFPA sum KR over the batch: min {_num(bt['fnnpa_over_wfpa_sum_kr_min'], '.5f')}, "
        f"mean {_num(bt['fnnpa_over_wfpa_sum_kr_mean'], '.6f')}.",
        "",
    ]
    if "fast" in b:
        lines += _fast_allocation(b["fast"])
    return lines


def _fast_allocation(f: dict) -> list[str]:
    """Fast-path figures: bound (online) paths vs the minimal reference, batched vs one pass."""
    s, med, diff = f["single"], f["single"]["median_s"], f["single"]["max_rel_diff"]
    lines = ["### Online fast path (bound to the design once)", ""]
    lines += _table(
        ["path, one P_a", "median time (us)", "ratio"],
        [
            [
                "minimal NumPy water-filling (baseline, in the bench)",
                1e6 * med["minimal_numpy_wf"],
                1.0,
            ],
            [
                "BoundWaterFilling (exact)",
                1e6 * med["bound_wf"],
                1 / s["ratio_minimal_over_bound_wf"],
            ],
            ["FastFNNPA", 1e6 * med["bound_fnnpa"], med["bound_fnnpa"] / med["minimal_numpy_wf"]],
        ],
    )
    lines += [
        f"Minimal / bound water-filling: {_num(s['ratio_minimal_over_bound_wf'], '.2f')}x (target >= 1, "
        f"goal >= 2); FastFNNPA / bound water-filling: {_num(s['ratio_bound_fnnpa_over_bound_wf'], '.2f')} "
        f"(target <= 0.5). Max relative difference to the validating paths: water-filling "
        f"{_num(diff['bound_wf_vs_water_filling'], '.1e')}, FNNPA x {_num(diff['bound_fnnpa_vs_allocator'], '.1e')} "
        f"(bit-identical at this P_a: {'yes' if diff['bound_fnnpa_bit_identical'] else 'no'}).",
        "",
    ]
    if "small_ufunc_call_s" in s:
        call = s["small_ufunc_call_s"]
        calls = s["numpy_calls_per_allocation"]
        lines += [
            "Limit of one allocation: the arithmetic (a few thousand flops on N_D-vectors that "
            "stay in L1) takes well under a microsecond; the floor is dispatch, one small NumPy "
            f"call = {_fmt(1e6 * call)} us in this run. Time / (NumPy calls x that floor): "
            + ", ".join(
                f"{name} {_num(med[name] / (calls[name] * call), '.2f')} ({calls[name]} calls)"
                for name in ("bound_wf", "bound_fnnpa", "minimal_numpy_wf")
            )
            + " (1 = nothing but dispatch; the rest is Python bookkeeping).",
            "",
        ]
    bw = f["batched_water_filling"]
    lines += [
        f"Batched water-filling, {bw['shape'][0]} x {bw['shape'][1]} independent problems (NumPy): "
        f"{_fmt(1e3 * bw['batched_numpy_s'])} ms (target <= 100 ms: "
        f"{'met' if bw['meets_100ms_target'] else 'missed'}), {bw['evaluations']} evaluations, "
        f"= {_fmt(bw['passes_equivalent'])} elementwise passes of {_fmt(1e3 * bw['elementwise_pass_s'])} ms "
        f"(fraction of pass speed {_num(bw['fraction_of_pass_speed'], '.3f')}); validating solver "
        f"{_fmt(1e3 * bw['validating_water_filling_s'])} ms.",
        "",
        "Limit of the batched solver: memory traffic. One evaluation of S(w) and S'(w) is ~10 "
        "elementwise passes over [B, N_D] float64 (a square root, the clipped quotient, two row "
        "sums; the square root alone costs ~2 passes), the bracket and constants ~12 more, and "
        "Newton needs 5-8 evaluations from the bracket (converged rows leave the working set once "
        "they are the majority). The reference pass (c = a * b on three arrays that fit the "
        "last-level cache) is optimistic: the solver streams ~8 such arrays, which do not.",
    ]
    if "torch_device_s" in bw:
        lines.append(
            f"On {bw['device']}: {_fmt(1e3 * bw['torch_device_s'])} ms "
            f"(device / CPU NumPy = {_num(bw['ratio_device_over_cpu_numpy'], '.3f')})."
        )
    return lines + [""]


def _maxmin(b: dict) -> list[str]:
    sp = b["speedup_vs_cvxpy"]
    lines = [
        "## Max-min fairness: exact solver, high-power bisection and FNN vs CVXPY (P3)",
        "",
        f"Fig. 6 scenario, {b['sweep_dbm'][2]} powers from {b['sweep_dbm'][0]} to {b['sweep_dbm'][1]} dBm; "
        f"CVXPY {_fmt(1e3 * b['cvxpy_per_solve_s'])} ms per solve after one DPP compilation "
        f"({b['cvxpy_non_optimal']} non-optimal); exact vs CVXPY max relative difference "
        f"{_num(b['exact_vs_cvxpy_max_rel_diff'], '.2e')} at Clarabel's default 1e-8 gap"
        + (
            f", {_num(b['exact_vs_cvxpy_tight_max_rel_diff'], '.2e')} with CVXPY asked for a "
            f"{_num(b['cvxpy_tight_gap'], 'g')} gap ({b['cvxpy_tight_non_optimal']} non-optimal; untimed)."
            if "exact_vs_cvxpy_tight_max_rel_diff" in b
            else "."
        ),
        "",
    ]
    names = {
        "exact_numpy_cold_per_solve": "exact max-min, NumPy, one cold solve (no warm start)",
        "exact_numpy_sweep_per_solve": "exact max-min, NumPy, one solve in a sweep (warm start)",
        "exact_numpy_repeated_per_solve": "exact max-min, NumPy, same budget repeated",
        "exact_numpy_batched_per_solve": "exact max-min, NumPy, batched",
        "exact_torch_batched_per_solve": "exact max-min, torch CPU, batched",
        "wfpakf_corrected_per_solve": "WFPAKF (high-power bisection, x >= 0), one solve",
        "wfpakf_corrected_batched_per_solve": "WFPAKF, batched",
        "fnnpakf_appro_per_solve": "FNNPAKF (paper mapping), one solve",
        "fnnpakf_appro_batched_per_solve": "FNNPAKF (paper mapping), batched",
        "fnnpakf_exact_per_solve": "FNNPAKF (exact mapping), one solve",
        "fnnpakf_exact_batched_per_solve": "FNNPAKF (exact mapping), batched",
        "bound_exact_per_solve": "BoundMaxMin (exact, one solve from the bind-time table)",
        "bound_fnnpakf_per_solve": "FastFNNPAKF (paper mapping, bound), one solve",
        "exact_device_batched_per_solve": "exact max-min, torch device, batched",
    }
    rows = [[label, 1e3 * b[f"{key}_s"], sp[key]] for key, label in names.items() if key in sp]
    lines += _table(["path", "time per solve (ms)", "speed-up vs CVXPY"], rows)
    if "bound_exact_per_solve_s" in b:
        lines += [
            f"BoundMaxMin over {b['n_budgets']} random budgets: {_num(b['bound_exact_evaluations_mean'], '.2f')} "
            f"evaluations per solve, {_num(sp['bound_exact_per_solve'], '.0f')}x CVXPY (target >= 200x: "
            f"{'met' if b['bound_exact_meets_200x'] else 'missed'}), "
            f"{_num(b['bound_exact_over_exact_cold_speedup'], '.2f')}x ExactMaxMin cold on the same budgets; "
            f"optimum vs ExactMaxMin {_num(b['bound_vs_exact_t_max_rel_diff'], '.1e')}, vs CVXPY "
            f"{_num(b['bound_vs_cvxpy_max_rel_diff'], '.1e')} at its default 1e-8 gap"
            + (
                f", {_num(b['bound_vs_cvxpy_tight_max_rel_diff'], '.1e')} at a "
                f"{_num(b['cvxpy_tight_gap'], 'g')} gap (target 1e-8)."
                if "bound_vs_cvxpy_tight_max_rel_diff" in b
                else "."
            ),
        ]
        if "ratio_bound_fnnpakf_over_bound_exact" in b:
            lines.append(
                f"FastFNNPAKF / BoundMaxMin (checkpoint's design): "
                f"{_num(b['ratio_bound_fnnpakf_over_bound_exact'], '.2f')} (target <= 0.5); FastFNNPAKF vs "
                f"FairnessAllocator {_num(b['bound_fnnpakf_vs_allocator_rel_diff'], '.1e')}."
            )
        lines += [
            "",
            "Limit: one exact solve is 2 evaluations of per-subchannel ufuncs (a joint Newton step "
            "on (t, log w_k) from the bind-time table) plus per-UE bookkeeping in Python floats: "
            "dispatch-bound like the water-filling. CVXPY spends its time in the interior-point "
            "iterations of Clarabel (a sparse factorisation each) and in CVXPY's parameter "
            "handling, so the ratio grows with how busy the CPU is for Python-heavy code.",
            "",
        ]
    return lines


def _ris(b: dict) -> list[str]:
    lines = ["## RIS alternating optimisation (two-cell, M = M_e = 4)", ""]
    lines += _table(
        ["N", "AO time (s)", "AO iterations", "status", "WSKR (bits)"],
        [
            [r["N"], r["seconds"], r["ao_iterations"], r["status"], r["wskr_bits"]]
            for r in b["ao_vs_n"]
        ],
    )
    g = b["gradient_n100"]
    lines += [
        f"Gradient of Algorithm 2 at N = 100: closed form (Theorem 4) {_fmt(1e3 * g['closed_form_s'])} ms, "
        f"autograd {_fmt(1e3 * g['autograd_s'])} ms (autograd / closed form = {_num(g['autograd_over_closed_form'], '.2f')}).",
        f"{b['multistart_n100']['starts']} batched random starts at N = 100: {_fmt(b['multistart_n100']['batched_seconds'])} s. "
        f"Two-cell AO at N = 100 converges in {_fmt(b['two_cell_n100_seconds'])} s (target <= 5 s: "
        f"{'met' if b['meets_5s_target'] else 'missed'}).",
        "",
    ]
    ms = b["multistart_n100"]
    if "best_of_starts_cpu_seconds" in ms:
        lines += [
            f"Multi-start AO (best of {ms['starts']}, `solve_ris_multistart`): CPU "
            f"{_fmt(ms['best_of_starts_cpu_seconds'])} s"
            + (
                f", {ms['device']} {_fmt(ms['best_of_starts_device_seconds'])} s "
                f"(device / CPU = {_num(ms['ratio_device_over_cpu'], '.3f')})"
                if "ratio_device_over_cpu" in ms
                else " (no GPU in this run)"
            )
            + ".",
            "",
        ]
    return lines


def _nist(b: dict) -> list[str]:
    sizes = [str(s) for s in b["sizes_bits"]]
    lines = ["## NIST SP 800-22 throughput", ""]
    rows = [[name] + [r[s]["bits_per_s"] / 1e6 for s in sizes] for name, r in b["tests"].items()]
    rows.append(["all nine"] + [b["all_nine"][s]["bits_per_s"] / 1e6 for s in sizes])
    return lines + _table(["test"] + [f"Mbit/s at n = {s}" for s in sizes], rows)


def _sweep(b: dict) -> list[str]:
    pred = b["reproduce_all_predicted_s"]
    study = b["study_1e5_evaluations_on_100_workers"]
    lines = [
        "## Sweeps on Dask: serial vs 2 local workers",
        "",
        f"Workload: {b['workload']}. Serial {b['serial_s']} s, 2 workers {b['workers_2_s']} s "
        f"(best of alternated rounds: serial {b['samples_s']['serial']}, 2 workers "
        f"{b['samples_s']['workers_2']}): **{b['speedup_2_workers']}x** (target >= 1.6), tables "
        f"identical: {b['tables_identical']}. Cluster start-up {b['cluster_startup_s']} s "
        f"({b['speedup_2_workers_with_startup']}x including it); engine cost per task "
        f"{_num(1e3 * b['engine_overhead_per_task_s'], '.1f')} ms; CPU-time speed-up (dedicated cores) "
        f"{b['speedup_2_workers_dedicated_cores']}x.",
        "",
        f"Scaling model: {b['model']}. Predicted: 10^5 evaluations ({study['tasks']} tasks) on 100 "
        f"workers in {study['predicted_s']} s; `plkg reproduce all` in {pred['1']} s serial, "
        f"{pred['2']} s on 2 workers, {pred['16']} s on 16 and {pred['100']} s on 100 (the "
        "figures that do not run on the engine dominate beyond 16).",
        "",
    ]
    return lines


def _general(b: dict) -> list[str]:
    first = b["first_allocation_s (after the design)"]
    ratio = b["first_allocation_ratio_vs_exact_solver"]
    names = {
        "wfpa_exact": "exact water-filling",
        "exact_maxmin": "exact max-min",
        "fnnpa_general": "fnnpa-general (set network, no retraining)",
        "fnnpakf_general": "fnnpakf-general, network alone",
        "fnnpakf_general_newton3": "fnnpakf-general, 3 Newton corrections",
        "interp_per_scenario": "interp (per-scenario PCHIP: labels + fit)",
        "interpkf_per_scenario": "interpkf (per-scenario PCHIP: labels + fit)",
        "kglm_net_per_scenario": "KGLM-Net per scenario (labels + training)",
        "fairness_fnn_per_scenario": "fairness FNN per scenario (labels + training)",
    }
    rows = [[label, 1e3 * first[k], ratio[k]] for k, label in names.items() if k in first]
    lines = [
        "## A new geometry: time to the first allocation",
        "",
        f"Scenario {b['scenario']}; its design takes {_num(b['design_s (common to all methods)'], '.3g')} s "
        "and is common to every method. " + b.get("notes", ""),
        "",
    ]
    return lines + _table(["method", "time to first allocation (ms)", "ratio to exact"], rows)


SECTIONS = {
    "allocation": _allocation,
    "maxmin": _maxmin,
    "ris-ao": _ris,
    "nist": _nist,
    "sweep": _sweep,
    "general": _general,
}


def render_markdown(report: dict, command: str) -> str:
    m = report["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Regenerate with `{command}`. Speed is reported as ratios against the classical baseline "
        "measured in the same run; absolute times depend on the machine and its load.",
        "",
        f"Machine: {m['machine']}, {m['cpu_count']} CPU cores, torch {m['torch']} "
        f"({m['torch_threads']} threads), Python {m['python']}, CUDA {'yes' if m['cuda'] else 'no'}, "
        f"plkg {m['plkg_version']}.",
        "",
    ]
    if not m["cuda"]:
        lines += [
            "No GPU in this run: `plkg bench allocation maxmin ris-ao --device cuda` adds the "
            "device timings (batched water-filling, FNNPA forward, exact max-min, multi-start AO) "
            "and their device / CPU ratios. On a GPU the [1000, 800] water-filling is launch-bound "
            "(one pass moves ~19 MB, a few microseconds at HBM bandwidth, against ~10 kernel "
            "launches per evaluation).",
            "",
        ]
    for name, result in report["benchmarks"].items():
        render = SECTIONS.get(name)
        try:
            lines += render(result) if render else []
        except (KeyError, TypeError, ZeroDivisionError) as exc:  # a benchmark changed shape
            # (or holds a value the summary cannot use): show its JSON rather than fail
            why = f"missing {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
            lines += [f"## {name}", "", f"(summary unavailable: {why})", ""]
    lines += [
        "## Raw results",
        "",
        "```json",
        dumps_strict(nonfinite_as_null(report["benchmarks"]), indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)
