"""Honest CLI semantics: strict JSON from every command, options that apply to the chosen method
or kind (refused otherwise, naming both), memory-sized requests refused before any work, a
closed stdout that ends quietly (141), and warnings as one line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from plkg.cli import main
from plkg.io.json_text import NonFiniteJSONError, dumps_strict, nonfinite_as_null

pytestmark = pytest.mark.surface  # input handling and output format, no floating-point kernel

SMALL = textwrap.dedent(
    """\
    system: nearfield
    name: small
    n_antennas: 32
    ue_distance_m: [6.0, 12.0]
    ue_angle_rad: [-0.4, 0.5]
    scatter_radius_m: 1.0
    n_scatterers: 16
    ccm_draws: 4
    """
)


def _refuse_constant(name):
    raise ValueError(f"not strict JSON: {name}")


def strict_loads(text: str):
    """Parse like an RFC 8259 parser: NaN, Infinity and -Infinity are errors."""
    return json.loads(text, parse_constant=_refuse_constant)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sem") / "small.yaml"
    path.write_text(SMALL)
    return str(path)


def run(capsys, argv):
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


def refused(capsys, argv, *culprits):
    """Exit 2, exactly one stderr line, naming every culprit; no traceback."""
    status, _, err = run(capsys, argv)
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for culprit in culprits:
        assert culprit in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------- strict JSON
def test_dumps_strict_converts_numpy_and_refuses_non_finite():
    text = dumps_strict({"a": np.float64(1.5), "b": np.arange(3), "c": (np.int64(2), None)})
    assert strict_loads(text) == {"a": 1.5, "b": [0, 1, 2], "c": [2, None]}
    for bad in (float("nan"), float("-inf"), np.array([1.0, np.inf])):
        with pytest.raises(NonFiniteJSONError, match=r"\$\.x\.y"):
            dumps_strict({"x": {"y": bad}})
    assert strict_loads(dumps_strict(nonfinite_as_null({"p": [1.0, float("nan")]}))) == {
        "p": [1.0, None]
    }


def test_keyrate_zero_budget_is_strict_json(small, capsys):
    for method in ("epa", "wfpa", "fnnpa-general"):
        status, out, err = run(
            capsys, ["keyrate", "--scenario", small, "--pa-w", "0", "--method", method, "--json"]
        )
        assert status == 0, err
        res = strict_loads(out)
        assert res["pa_w"] == 0.0 and res["pa_dbm"] is None  # documented in --help
        assert res["power_used_w"] == 0.0
    status, out, _ = run(capsys, ["keyrate", "--scenario", small, "--pa-w", "0", "1e-3"])
    assert status == 0 and "P_a = 0 W" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["scenario", "--scenario", "{small}", "--json"],
        ["keyrate", "--scenario", "{small}", "--pa-dbm", "0", "10", "--method", "wfpa", "--json"],
        ["keyrate", "--scenario", "{small}", "--pa-dbm", "5", "--method", "exact-maxmin", "--json"],
        [
            "keyrate",
            "--scenario",
            "{small}",
            "--pa-dbm",
            "5",
            "--method",
            "fnnpakf-general",
            "--json",
        ],  # fmt: skip
        [
            "generate",
            "sumrate",
            "--scenario",
            "{small}",
            "--n-samples",
            "9",
            "--out",
            "{tmp}/d.npz",
            "--json",
        ],  # fmt: skip
        ["ris", "--n-ris-elements", "4", "--methods", "no-ris", "--json"],
        ["nist", "{tmp}/bits.txt", "--json", "--report-only"],
    ],
    ids=[
        "scenario",
        "keyrate-wfpa",
        "keyrate-maxmin",
        "keyrate-general",
        "generate",
        "ris",
        "nist",
    ],
)
def test_every_json_output_is_strict(argv, small, tmp_path, capsys):
    (tmp_path / "bits.txt").write_text("01" * 40)  # too short for most tests: NaN P-values
    argv = [a.format(small=small, tmp=tmp_path) for a in argv]
    status, out, err = run(capsys, argv)
    assert status == 0, err
    strict_loads(out)


def test_reproduce_manifest_is_strict_json(tmp_path, capsys, monkeypatch):
    import plkg.commands.reproduce as reproduce

    def figure(out, quick=False):
        path = out / "a.csv"
        path.write_text("x\n1\n")
        return [path]

    monkeypatch.setattr(reproduce, "figure_registry", lambda: {"a": figure})
    assert main(["reproduce", "a", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    strict_loads((tmp_path / "manifest.json").read_text())


# ---------------------------------------------------------------- options that do not apply
@pytest.mark.parametrize(
    "argv, culprits",
    [
        (["keyrate", "--pa-dbm", "10", "--method", "wfpa", "--mapping", "exact"],
         ["--mapping", "wfpa", "fnnpakf"]),
        (["keyrate", "--pa-dbm", "10", "--method", "epa", "--checkpoint", "x.safetensors"],
         ["--checkpoint", "epa"]),
        (["keyrate", "--pa-dbm", "10", "--method", "wfpa", "--allow-extrapolation"],
         ["--allow-extrapolation", "wfpa"]),
        (["generate", "fairness", "--sampling", "w"], ["--sampling", "fairness"]),
        (["generate", "sumrate", "--workers", "2"], ["--workers", "sumrate"]),
        (["generate", "fairness", "--workers", "2", "--scheduler", "tcp://x:1"],
         ["--workers", "--scheduler"]),
        (["train", "kglm", "--lr", "0.1"], ["--lr", "lm"]),
        (["train", "kglm", "--optimizer", "lm", "--lr", "0.1"], ["--lr", "lm"]),
        (["train", "kglm", "--width", "8"], ["--width", "kglm"]),
        (["train", "fairness", "--geometries", "3"], ["--geometries", "fairness"]),
        (["train", "general", "--hidden", "8"], ["--hidden", "general"]),
        (["train", "general", "--optimizer", "adam"], ["--optimizer", "general"]),
        (["train", "kglm", "--no-log", "--log-dir", "x"], ["--log-dir", "--no-log"]),
        (["ris", "--methods", "no-ris", "--starts", "3"], ["--starts", "no-ris"]),
        (["ris", "--methods", "no-ris,rand-phase", "--max-iter", "3"], ["--max-iter", "proposed"]),
        (["ris", "--methods", "no-ris", "--seed", "1"], ["--seed", "no-ris"]),
        (["nist", "f.txt", "--tests", "frequency,runs", "--apen-m", "3"],
         ["--apen-m", "approximate_entropy", "frequency,runs"]),
        (["bench", "nist", "--device", "cpu"], ["--device", "nist"]),
        (["reproduce", "nf-fig4", "--workers", "2", "--scheduler", "tcp://x:1"],
         ["--workers", "--scheduler"]),
    ],
)  # fmt: skip
def test_an_option_that_does_not_apply_is_refused(argv, culprits, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may be written; a stray output would land here
    refused(capsys, argv, *culprits)
    assert list(tmp_path.iterdir()) == []


def test_keyrate_mapping_choices_are_the_allocators():
    from plkg.commands.keyrate import MAPPING_CHOICES
    from plkg.inference.fairness_allocator import MAPPINGS

    assert tuple(MAPPING_CHOICES) == tuple(MAPPINGS)


def test_options_that_apply_are_accepted(small, capsys):
    status, out, err = run(
        capsys,
        ["ris", "--n-ris-elements", "4", "--methods", "rand-phase", "--seed", "3", "--json"],
    )
    assert status == 0, err
    assert "rand-phase" in strict_loads(out)["methods"]


# ---------------------------------------------------------------- sized requests
@pytest.fixture
def one_gib(monkeypatch):
    """Pretend this machine has 1 GiB available (the refusals must not depend on the host)."""
    import plkg.machine

    monkeypatch.setattr(plkg.machine, "available_memory_bytes", lambda: 2**30)


def test_ris_starts_are_sized_before_any_work(capsys, one_gib, monkeypatch):
    import plkg.channels.ris_multicell as ris_multicell

    def never(*a, **k):
        raise AssertionError("the channel model was built before the memory check")

    monkeypatch.setattr(ris_multicell, "build_channel_model", never)
    line = refused(capsys, ["ris", "--starts", "1000000"], "--starts 1000000", "--force", "GiB")
    assert "available" in line
    refused(capsys, ["ris", "--n-ris-elements", "100000000", "--methods", "no-ris"],
            "--n-ris-elements 100000000", "--force")  # fmt: skip


def test_ris_force_runs_anyway(capsys, one_gib, monkeypatch):
    import plkg.commands.ris as ris

    monkeypatch.setattr(ris, "ris_memory_bytes", lambda scenario, starts: 2.0**40)
    argv = ["ris", "--n-ris-elements", "4", "--methods", "no-ris", "--json"]
    refused(capsys, argv, "--n-ris-elements 4", "--force")
    status, out, err = run(capsys, [*argv, "--force"])
    assert status == 0 and strict_loads(out)["methods"]["no-ris"], err


def test_ris_estimate_grows_with_starts_and_elements():
    from plkg.channels.ris_scenario import load_ris_scenario
    from plkg.commands.ris import ris_memory_bytes

    base = load_ris_scenario("two-cell")
    big = load_ris_scenario("two-cell", n_ris_elements=600)
    assert ris_memory_bytes(base, 10) > ris_memory_bytes(base, 1)
    assert ris_memory_bytes(big, 1) > ris_memory_bytes(base, 1)
    # the hostile case: a million starts of the Fig. 3 layout is far beyond 15 GB
    assert ris_memory_bytes(base, 1_000_000) > 15e9


def test_generate_n_samples_is_sized(small, tmp_path, capsys, one_gib):
    out = tmp_path / "d.npz"
    argv = ["generate", "sumrate", "--scenario", small, "--n-samples", "100000000"]
    refused(capsys, [*argv, "--out", str(out)], "--n-samples 100000000", "--force")
    assert list(tmp_path.iterdir()) == []


def test_a_large_scenario_is_sized_before_its_design(tmp_path, capsys, one_gib):
    big = tmp_path / "big.yaml"
    big.write_text(SMALL.replace("n_antennas: 32", "n_antennas: 4096"))
    for command in (["scenario"], ["keyrate", "--pa-dbm", "0"]):
        refused(capsys, [*command, "--scenario", str(big)], "N = 4096", "--force")


# ---------------------------------------------------------------- closed stdout, warnings
class _ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_stdout_in_process_is_quiet(small, capsys, monkeypatch):
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    status = main(["scenario", "--scenario", small, "--json"])
    monkeypatch.undo()
    assert status == 141
    assert capsys.readouterr().err == ""


def test_closed_stdout_pipe_ends_quietly(small):
    """``plkg keyrate ... --json | head -1``: exit 141 (128 + SIGPIPE), nothing on stderr."""
    powers = [str(p) for p in np.linspace(-10.0, 30.0, 400)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "plkg", "keyrate", "--scenario", small, "--method", "epa",
         "--json", "--pa-dbm", *powers],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == b"["
        proc.stdout.close()  # the reader goes away, as `head` does
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 141, err
    assert err == ""


def test_warnings_are_one_line(capsys, monkeypatch):
    import plkg.commands.nist as nist

    def warns(args):
        warnings.warn("something to know\nover two lines", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(nist, "run", warns)
    assert main(["nist", "x"]) == 0
    assert capsys.readouterr().err == "plkg nist: warning: something to know over two lines\n"


def test_warnings_name_a_category_other_than_userwarning(capsys, monkeypatch):
    import plkg.commands.nist as nist

    def warns(args):
        warnings.warn("overflow in exp", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(nist, "run", warns)
    assert main(["nist", "x"]) == 0
    assert capsys.readouterr().err == "plkg nist: warning: RuntimeWarning: overflow in exp\n"


def test_debug_keeps_the_warning_location(capsys, monkeypatch):
    """--debug: the previous warnings.showwarning (Python's format: file and line) is kept."""
    import plkg.commands.nist as nist

    def warns(args):
        warnings.warn("something to know", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(nist, "run", warns)
    shown = []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda msg, cat, filename, lineno, *a, **k: shown.append(
            (str(msg), cat, filename, lineno)
        )
        assert main(["--debug", "nist", "x"]) == 0
        assert main(["nist", "x"]) == 0  # without --debug: the one-line form, not the hook
    assert len(shown) == 1
    msg, cat, filename, lineno = shown[0]
    assert msg == "something to know" and cat is UserWarning
    assert filename.endswith("test_cli_semantics.py") and lineno > 0
    assert capsys.readouterr().err == "plkg nist: warning: something to know\n"


# ---------------------------------------------------------------- general allocators answer
def test_general_allocator_answers_where_the_network_cannot(small, capsys):
    """-100 dBm: the set network's level rounds onto the activation levels; water-filling
    answers (one warning line, status and JSON field ``fallback``), never exit 2."""
    base = ["keyrate", "--scenario", small, "--pa-dbm", "-100", "--json"]
    status, out, err = run(capsys, [*base, "--method", "wfpa"])
    exact = strict_loads(out)
    status, out, err = run(capsys, [*base, "--method", "fnnpa-general"])
    assert status == 0, err
    res = strict_loads(out)
    if res["fallback"] is not None:  # whether the network fails here depends on its round-off
        assert res["status"] == "exact_fallback"
        assert err.count("\n") == 1 and "warning" in err and "fnnpa-general" in err
        assert res["sum_kr_bits"] == pytest.approx(exact["sum_kr_bits"], rel=1e-9)
    assert res["power_used_w"] == pytest.approx(1e-13, rel=1e-9)
