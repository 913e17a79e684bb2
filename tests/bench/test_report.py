"""The benchmark report renders every section from a run's JSON, and survives a changed shape."""

from plkg.bench._report import render_markdown


def test_render_ris_and_nist_sections(machine):
    report = {
        "machine": machine,
        "benchmarks": {
            "ris-ao": {
                "ao_vs_n": [
                    {
                        "N": 20,
                        "seconds": 0.5,
                        "ao_iterations": 3,
                        "status": "converged",
                        "wskr_bits": 1.25,
                    }
                ],
                "gradient_n100": {
                    "closed_form_s": 1e-3,
                    "autograd_s": 2e-3,
                    "autograd_over_closed_form": 2.0,
                },
                "multistart_n100": {"starts": 8, "batched_seconds": 1.5},
                "two_cell_n100_seconds": 0.4,
                "meets_5s_target": True,
            },
            "nist": {
                "sizes_bits": [2048],
                "tests": {"frequency": {"2048": {"bits_per_s": 7e7}}},
                "all_nine": {"2048": {"bits_per_s": 1e6}},
            },
        },
    }
    text = render_markdown(report, "plkg bench all --markdown docs/benchmarks.md")
    assert "| 20 | 0.5 | 3 | converged | 1.25 |" in text
    assert "| frequency | 70 |" in text and "| all nine | 1 |" in text
    assert "target <= 5 s: met" in text
    assert "plkg bench all --markdown docs/benchmarks.md" in text


def test_changed_shape_is_reported_not_raised(machine):
    report = {"machine": machine, "benchmarks": {"allocation": {"n_subchannels": 3}}}
    text = render_markdown(report, "plkg bench allocation")
    assert "summary unavailable" in text and '"n_subchannels": 3' in text


SWEEP = {
    "workload": "200 evaluations = 20 tasks (N = 128, 8 CCM draws, one design each) x 10 (P_a, method)",
    "serial_s": 2.328,
    "workers_2_s": 1.349,
    "samples_s": {"serial": [2.429, 2.328, 2.381], "workers_2": [1.403, 1.552, 1.349]},
    "speedup_2_workers": 1.726,
    "cpu_share_of_wall_serial": 0.97,
    "task_cpu_s_serial": 2.258,
    "task_cpu_s_per_worker": [1.185, 1.19],
    "speedup_2_workers_dedicated_cores": 1.86,
    "cluster_startup_s": 0.621,
    "speedup_2_workers_with_startup": 1.182,
    "tables_identical": True,
    "task_s": 0.1129,
    "engine_overhead_per_task_s": 0.00266,
    "parallel_efficiency_2": 0.93,
    "model": "tasks/s(W) = 1 / max(task_s / (efficiency W), overhead_per_task_s); task_s and efficiency from CPU seconds (dedicated cores)",
    "tasks_per_s": {
        "1": 8.86,
        "2": 16.47,
        "4": 32.94,
        "8": 65.89,
        "16": 131.78,
        "32": 263.55,
        "64": 375.32,
        "100": 375.32,
    },
    "study_1e5_evaluations_on_100_workers": {"tasks": 10000, "predicted_s": 26.6},
    "reproduce_all_predicted_s": {"1": 525.8, "2": 469.4, "16": 415.5, "100": 412.3},
}
GENERAL = {
    "scenario": "fig6",
    "design_s (common to all methods)": 0.5566619090004679,
    "first_allocation_s (after the design)": {
        "fnnpa_general": 0.0004011768046865427,
        "fnnpakf_general": 0.003088266374959403,
        "fnnpakf_general_newton3": 0.004285159749997547,
        "kglm_net_per_scenario": 2.6973200169995835,
        "fairness_fnn_per_scenario": 2.629487477999646,
        "interp_per_scenario": 0.060025531200517436,
        "interpkf_per_scenario": 0.012542753900561365,
        "wfpa_exact": 0.00042114557030004107,
        "exact_maxmin": 0.00028144227344029105,
    },
    "first_allocation_ratio_vs_exact_solver": {
        "fnnpa_general": 0.9525846476331882,
        "fnnpakf_general": 10.97300109613629,
        "fnnpakf_general_newton3": 15.225714664739796,
        "kglm_net_per_scenario": 6404.721329676824,
        "fairness_fnn_per_scenario": 9342.901639676746,
        "interp_per_scenario": 142.52917621275898,
        "interpkf_per_scenario": 44.56599126791219,
        "wfpa_exact": 1.0,
        "exact_maxmin": 1.0,
    },
    "per_allocation_s": {
        "wfpa_exact": 0.00042114557030004107,
        "exact_maxmin": 0.00028144227344029105,
        "fnnpa_general": 0.0004011768046865427,
        "fnnpakf_general": 0.003088266374959403,
        "fnnpakf_general_newton3": 0.004285159749997547,
    },
    "notes": "per-scenario KGLM-Net time = 200 exact labels + one LM training run of the committed fig6 dataset (the fairness FNN trains the same way); the set allocator needs neither",
}


def test_render_sweep_and_general_sections(machine):
    report = {"machine": machine, "benchmarks": {"sweep": SWEEP, "general": GENERAL}}
    text = render_markdown(report, "plkg bench sweep general")
    assert "summary unavailable" not in text
    assert f"**{SWEEP['speedup_2_workers']}x** (target >= 1.6)" in text
    assert f"{SWEEP['reproduce_all_predicted_s']['16']} s on 16" in text
    assert "| fnnpa-general (set network, no retraining) | 0.401 | 0.953 |" in text


def test_nan_and_none_render_as_n_a(machine):
    """A non-finite measurement (a ratio over a zero time) or a missing one prints "n/a"."""
    report = {
        "machine": machine,
        "benchmarks": {
            "ris-ao": {
                "ao_vs_n": [
                    {
                        "N": 20,
                        "seconds": float("nan"),
                        "ao_iterations": 3,
                        "status": "converged",
                        "wskr_bits": None,
                    }
                ],
                "gradient_n100": {
                    "closed_form_s": 0.0,
                    "autograd_s": 2e-3,
                    "autograd_over_closed_form": float("inf"),
                },
                "multistart_n100": {"starts": 8, "batched_seconds": float("nan")},
                "two_cell_n100_seconds": 0.4,
                "meets_5s_target": True,
            },
        },
    }
    text = render_markdown(report, "plkg bench ris-ao")
    assert "summary unavailable" not in text
    assert "| 20 | n/a | 3 | converged | n/a |" in text
    assert "(autograd / closed form = n/a)" in text
    assert "at N = 100: n/a s" in text
    assert '"autograd_over_closed_form": null' in text  # the raw JSON stays strict


def test_bench_markdown_with_a_nan_result(tmp_path, monkeypatch, machine, capsys):
    """`plkg bench --markdown` after a run with a NaN ratio: JSON null, Markdown n/a, exit 0."""
    import json

    import plkg.commands.bench as bench
    from plkg.cli import main

    def fake(quick=False):
        return {
            "ao_vs_n": [],
            "gradient_n100": {
                "closed_form_s": 0.0,
                "autograd_s": 0.0,
                "autograd_over_closed_form": float("nan"),
            },
            "multistart_n100": {"starts": 2, "batched_seconds": 1.0},
            "two_cell_n100_seconds": 1.0,
            "meets_5s_target": True,
        }

    monkeypatch.setattr(bench, "benchmark_registry", lambda: {"ris-ao": fake})
    monkeypatch.setattr(bench, "machine_info", lambda: machine)
    md, out = tmp_path / "bench.md", tmp_path / "bench.json"
    assert main(["bench", "ris-ao", "--json", "--markdown", str(md), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["benchmarks"]["ris-ao"]["gradient_n100"]["autograd_over_closed_form"] is None
    assert json.loads(out.read_text()) == printed
    assert "(autograd / closed form = n/a)" in md.read_text()
