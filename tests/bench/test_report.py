"""The benchmark report renders every section from a run's JSON, and survives a changed shape."""

from plkg.bench._report import render_markdown

MACHINE = {
    "machine": "x86_64",
    "cpu_count": 2,
    "torch": "2.x",
    "torch_threads": 1,
    "python": "3.11",
    "cuda": False,
    "plkg_version": "0",
}


def test_render_ris_and_nist_sections():
    report = {
        "machine": MACHINE,
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


def test_changed_shape_is_reported_not_raised():
    report = {"machine": MACHINE, "benchmarks": {"allocation": {"n_subchannels": 3}}}
    text = render_markdown(report, "plkg bench allocation")
    assert "summary unavailable" in text and '"n_subchannels": 3' in text
