"""docs/assumptions.md records every open modelling choice under its parameter name."""

from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "assumptions.md"

CHOICES = [
    # near-field paper: scatterer model, packet lengths, rank thresholds, reproducibility
    "n_scatterers",
    "scatter_radius_m",
    "ccm_draws",
    "downlink_pilot_len",
    "uplink_pilot_len",
    "null_space_rtol",
    "subchannel_rtol",
    "cut_window",
    # RIS paper: UT power, Rician mean in R^r, heights vs coordinates
    "ut_power_dbm",
    "include_rician_mean",
    "height",
    # paper-reading options
    "scatterer_model",
    "wedge_angle_spread_rad",
    "wedge_distance_spread_m",
    "subchannel_count",
    "ris_spacing_wavelengths",
    "bs_array_axis_deg",
    "ris_array_axis_deg",
    "los_angles",
    "los_seed",
    "direct_correlation",
    "direct_correlation_coeff",
    "pathloss_ref_db",
]


@pytest.mark.parametrize("name", CHOICES)
def test_choice_documented(name):
    assert name in DOC.read_text(encoding="utf-8"), (
        f"{name} is not documented in docs/assumptions.md"
    )


def test_choices_are_real_parameters():
    """Every documented parameter name exists on a scenario dataclass (the doc cannot drift alone)."""
    import dataclasses

    from plkg.channels.nearfield_scenario import NearFieldScenario
    from plkg.channels.ris_scenario import RISScenario

    fields = {f.name for cls in (NearFieldScenario, RISScenario) for f in dataclasses.fields(cls)}
    for name in CHOICES:
        assert name in fields or any(name in f for f in fields), name


# ---------------------------------------------------------------- runnable documentation
# The examples of plkg's module docstring (doctests) and every ```python block of README.md and
# docs/sweeps.md run on every `make test`. They compute the Fig. 6 design once per test session (the session's
# design cache, tests/conftest.py), which the other fig6 tests share.
README = Path(__file__).resolve().parents[1] / "README.md"
SWEEPS = Path(__file__).resolve().parents[1] / "docs" / "sweeps.md"


def _python_blocks(text: str) -> list[str]:
    import re

    return re.findall(r"^```python[ \t]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


@pytest.mark.surface
def test_package_docstring_examples_run():
    """``doctest.testmod(plkg)``: the top-level examples give the documented outputs."""
    import doctest
    import io

    import plkg

    out = io.StringIO()
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(plkg) if t.examples]
    assert tests, "plkg's docstring has no >>> examples"
    for test in tests:
        runner.run(test, out=out.write)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, out.getvalue()
    assert result.attempted >= 10


def test_readme_has_python_blocks():
    assert _python_blocks(README.read_text(encoding="utf-8")), "README.md has no ```python block"


@pytest.mark.surface
@pytest.mark.parametrize("index", range(len(_python_blocks(README.read_text(encoding="utf-8")))))
def test_readme_python_block_runs(index, tmp_path, monkeypatch, capsys):
    """Each ```python block of README.md runs as written, in an empty working folder."""
    code = _python_blocks(README.read_text(encoding="utf-8"))[index]
    first = next((line for line in code.splitlines() if line.strip()), "")
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "readme"})
    except Exception as exc:  # noqa: BLE001 - any failure of a documented snippet is the finding
        pytest.fail(
            f"README.md python block {index + 1} (starting {first!r}) raised "
            f"{type(exc).__name__}: {exc}"
        )


# ---------------------------------------------------------------- docs/sweeps.md's table snippets
# A tiny real sweep table (one N = 64 scenario with 2 CCM draws, 2 powers, 2 methods: about a
# second) so that the snippets read what `plkg sweep` writes, not a hand-made imitation.
TINY_SPEC = """\
system: nearfield
base: fig6
grid:
  n_antennas: [64]
  ccm_draws: [2]
  pa_dbm: [0, 10]
methods: [epa, wfpa]
"""


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    from plkg.cli import main

    folder = tmp_path_factory.mktemp("sweep_docs")
    (folder / "spec.yaml").write_text(TINY_SPEC, encoding="utf-8")
    out = folder / "results.parquet"
    code = main(
        ["--quiet", "sweep", str(folder / "spec.yaml"), "--out", str(out), "--workers", "1"]
    )
    assert code == 0 and out.is_dir()
    return folder


def test_sweeps_doc_has_python_blocks():
    assert _python_blocks(SWEEPS.read_text(encoding="utf-8")), (
        "docs/sweeps.md has no ```python block"
    )


@pytest.mark.parametrize("index", range(len(_python_blocks(SWEEPS.read_text(encoding="utf-8")))))
def test_sweeps_python_block_runs(index, sweep_folder, monkeypatch, capsys):
    """Each ```python block of docs/sweeps.md runs as written next to a real sweep table."""
    pytest.importorskip("pandas", reason='the snippets use pandas: pip install "plkg[analysis]"')
    code = _python_blocks(SWEEPS.read_text(encoding="utf-8"))[index]
    monkeypatch.chdir(sweep_folder)
    try:
        exec(
            compile(code, f"docs/sweeps.md python block {index + 1}", "exec"),
            {"__name__": "sweeps_doc"},
        )
    except Exception as exc:  # noqa: BLE001 - any failure of a documented snippet is the finding
        pytest.fail(f"docs/sweeps.md python block {index + 1} raised {type(exc).__name__}: {exc}")
    printed = capsys.readouterr().out
    assert "wfpa" in printed and "epa" in printed, printed
