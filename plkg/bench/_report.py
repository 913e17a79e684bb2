"""Render the JSON of ``plkg bench`` as ``docs/benchmarks.md`` (``plkg bench --markdown FILE``).

Every number in the report comes from the run that writes it.
"""

from __future__ import annotations

import json


def _fmt(value, digits: int = 3) -> str:
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
        f"FNNPA sum KR / WFPA sum KR over the batch: min {bt['fnnpa_over_wfpa_sum_kr_min']:.5f}, "
        f"mean {bt['fnnpa_over_wfpa_sum_kr_mean']:.6f}.",
        "",
    ]
    return lines


def _maxmin(b: dict) -> list[str]:
    sp = b["speedup_vs_cvxpy"]
    lines = [
        "## Max-min fairness: exact solver, high-power bisection and FNN vs CVXPY (P3)",
        "",
        f"Fig. 6 scenario, {b['sweep_dbm'][2]} powers from {b['sweep_dbm'][0]} to {b['sweep_dbm'][1]} dBm; "
        f"CVXPY {_fmt(1e3 * b['cvxpy_per_solve_s'])} ms per solve after one DPP compilation "
        f"({b['cvxpy_non_optimal']} non-optimal); exact vs CVXPY max relative difference "
        f"{b['exact_vs_cvxpy_max_rel_diff']:.2e}.",
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
    }
    rows = [[label, 1e3 * b[f"{key}_s"], sp[key]] for key, label in names.items() if key in sp]
    return lines + _table(["path", "time per solve (ms)", "speed-up vs CVXPY"], rows)


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
        f"autograd {_fmt(1e3 * g['autograd_s'])} ms (autograd / closed form = {g['autograd_over_closed_form']:.2f}).",
        f"{b['multistart_n100']['starts']} batched random starts at N = 100: {_fmt(b['multistart_n100']['batched_seconds'])} s. "
        f"Two-cell AO at N = 100 converges in {_fmt(b['two_cell_n100_seconds'])} s (target <= 5 s: "
        f"{'met' if b['meets_5s_target'] else 'missed'}).",
        "",
    ]
    return lines


def _nist(b: dict) -> list[str]:
    sizes = [str(s) for s in b["sizes_bits"]]
    lines = ["## NIST SP 800-22 throughput", ""]
    rows = [[name] + [r[s]["bits_per_s"] / 1e6 for s in sizes] for name, r in b["tests"].items()]
    rows.append(["all nine"] + [b["all_nine"][s]["bits_per_s"] / 1e6 for s in sizes])
    return lines + _table(["test"] + [f"Mbit/s at n = {s}" for s in sizes], rows)


SECTIONS = {"allocation": _allocation, "maxmin": _maxmin, "ris-ao": _ris, "nist": _nist}


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
    for name, result in report["benchmarks"].items():
        render = SECTIONS.get(name)
        try:
            lines += render(result) if render else []
        except KeyError as exc:  # a benchmark changed shape: show its JSON rather than fail
            lines += [f"## {name}", "", f"(summary unavailable: missing {exc})", ""]
    lines += [
        "## Raw results",
        "",
        "```json",
        json.dumps(report["benchmarks"], indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)
