"""User-supplied measurement and CCM files: ``plkg keys --measurements F`` / ``--ccm F``.

Every bad file ends in exit 2 and one line naming the option, the file and (where there is one)
the field, never in NumPy's or SciPy's own words; an interrupted run exits 143 / 130 between
blocks.
"""

from __future__ import annotations

import io
import signal
import struct
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from plkg.cli import main
from plkg.errors import PlkgInputError
from plkg.keygen.measurement_keys import (
    MAX_ABS,
    load_measurements,
    measurement_key_generation,
)

pytestmark = pytest.mark.surface

SMALL_NEARFIELD = """system: nearfield
n_antennas: 16
ue_distance_m: [20.0, 60.0]
ue_angle_rad: [-0.5, 0.6]
ccm_draws: 2
n_scatterers: 8
"""


def paired(rng, shape, rho=0.99, complex_=True):
    def draw():
        x = rng.standard_normal(shape)
        return x + 1j * rng.standard_normal(shape) if complex_ else x

    h, s = draw(), ((1 - rho) / rho) ** 0.5
    return h + s * draw(), h + s * draw()


def v73_bytes() -> bytes:
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\x00" * 8 + struct.pack("<H", 0x0200) + b"IM"
    return header.ljust(512, b"\x00") + b"\x89HDF\r\n\x1a\n" + b"\x00" * 64


def object_npz(path):
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("alice.npy", buf.getvalue())
        z.writestr("bob.npy", buf.getvalue())


def write_case(tmp_path, case: str):
    """(path, the field the message must name or None) for each bad measurement file."""
    rng = np.random.default_rng(1)
    path = tmp_path / ("m.mat" if case.endswith("-mat") else "m.npz")
    a3, b3 = paired(rng, (64, 4, 3))
    field = None
    if case == "garbage-mat":
        path.write_bytes(b"hello this is not a mat file" * 10)
    elif case == "v73-mat":
        path.write_bytes(v73_bytes())
    elif case == "text-npz":
        path.write_text("alice,bob\n1,2\n")
    elif case == "object-array":
        object_npz(path)
        field = "alice"
    elif case == "cell-mat":
        from scipy.io import savemat

        savemat(path, {"alice": np.array([1, "a"], dtype=object), "bob": np.zeros((64, 3))})
        field = "alice"
    elif case == "correlation-length":
        np.savez(path, alice=a3, bob=b3, correlation=np.full(4, 0.9))
        field = "correlation"
    elif case == "correlation-range":
        np.savez(path, alice=a3, bob=b3, correlation=np.full((4, 3), 1.5))
        field = "correlation"
    elif case == "huge":
        np.savez(path, alice=a3 * 1e300, bob=b3 * 1e300)
        field = "alice"
    elif case == "nan":
        a3[5, 1, 2] = np.nan
        np.savez(path, alice=a3, bob=b3)
        field = "alice"
    elif case == "strings":
        np.savez(path, alice=np.array(["x"] * 64), bob=np.array(["y"] * 64))
        field = "alice"
    elif case == "zero-users":
        np.savez(path, alice=np.zeros((256, 0, 4)), bob=np.zeros((256, 0, 4)))
        field = "n_users=0"
    elif case == "zero-components":
        np.savez(path, alice=np.zeros((256, 0)), bob=np.zeros((256, 0)))
        field = "n_components=0"
    elif case == "more-components-than-rounds":
        a, b = paired(rng, (64, 16, 100))
        np.savez(path, alice=a, bob=b)
        field = "n_components=100"
    elif case == "too-few-rounds":
        np.savez(path, alice=a3[:4], bob=b3[:4])
        field = "n_rounds=4"
    elif case == "constant-link":
        a3[:, 2] = 3.0
        np.savez(path, alice=a3, bob=b3)
        field = "link 3"  # a3[:, 2] is the third link; links are numbered from 1
    elif case == "real-and-complex":
        np.savez(path, alice=a3.real, bob=b3)
        field = "bob"
    elif case == "missing-bob":
        np.savez(path, alice=a3)
        field = "bob"
    elif case == "kr-negative":
        np.savez(path, alice=a3, bob=b3, analytic_kr_bits=np.array([1.0, -1.0, 1.0, 1.0]))
        field = "analytic_kr_bits"
    elif case == "kr-length":
        np.savez(path, alice=a3, bob=b3, analytic_kr_bits=np.ones(3))
        field = "analytic_kr_bits"
    else:
        raise AssertionError(case)
    return path, field


CASES = [
    "garbage-mat",
    "v73-mat",
    "text-npz",
    "object-array",
    "cell-mat",
    "correlation-length",
    "correlation-range",
    "huge",
    "nan",
    "strings",
    "zero-users",
    "zero-components",
    "more-components-than-rounds",
    "too-few-rounds",
    "constant-link",
    "real-and-complex",
    "missing-bob",
    "kr-negative",
    "kr-length",
]

LIBRARY_WORDS = (
    "cannot reshape",
    "Object arrays cannot be loaded",
    "pickled (object) data",
    "Unknown mat file type",
    "Please use HDF reader",
    "did not converge",
    "Traceback",
)


def one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("plkg keys: error: ")
    return lines[0]


@pytest.mark.parametrize("case", CASES)
def test_bad_measurement_file_cli(tmp_path, capsys, case):
    path, field = write_case(tmp_path, case)
    assert main(["keys", "--measurements", str(path), "--json"]) == 2
    line = one_error_line(capsys)
    assert "--measurements" in line and str(path) in line
    if field is not None:
        assert field in line
    if case == "v73-mat":
        assert "save it with `save(..., '-v7')`" in line
    if case == "more-components-than-rounds":
        assert "--max-components" in line
    if case == "correlation-length":
        assert "'correlation' must be [n_users=4, n_components=3], got [4]" in line
    for words in LIBRARY_WORDS:
        assert words not in line
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("case", CASES)
def test_bad_measurement_file_api(tmp_path, case):
    path, field = write_case(tmp_path, case)
    with pytest.raises(PlkgInputError) as info:
        load_measurements(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    if field is not None:
        assert field in str(info.value)


def test_missing_measurement_file(tmp_path, capsys):
    path = tmp_path / "gone.npz"
    assert main(["keys", "--measurements", str(path)]) == 2
    line = one_error_line(capsys)
    assert "--measurements: no such file" in line and str(path) in line


def test_report_states_the_files_rounds_and_rounds_option(tmp_path, capsys):
    import json

    rng = np.random.default_rng(2)
    a, b = paired(rng, (256, 2), rho=0.999)
    path = tmp_path / "r.npz"
    np.savez(path, alice=a, bob=b)
    assert main(["keys", "--measurements", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rounds"] == 256 and len(report["users"]) == 1
    assert main(["keys", "--measurements", str(path), "--rounds", "64"]) == 2
    line = one_error_line(capsys)
    assert "--rounds 64" in line and "256 rounds" in line
    # the simulator's default (1024) given explicitly is refused too: nothing is read silently
    assert main(["keys", "--measurements", str(path), "--rounds", "1024"]) == 2
    assert "--rounds 1024" in one_error_line(capsys)
    assert main(["keys", "--measurements", str(path), "--rounds", "256", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rounds"] == 256


def test_shapes_that_are_accepted(tmp_path):
    rng = np.random.default_rng(4)
    a, b = paired(rng, (32, 3), complex_=False)
    path = tmp_path / "one.npz"
    np.savez(path, alice=a, bob=b, correlation=np.full(3, 0.5), analytic_kr_bits=np.float64(2))
    data = load_measurements(path)
    assert data["alice"].shape == (32, 1, 3) and data["correlation"].shape == (1, 3)
    assert data["analytic_kr_bits"].shape == (1,) and data["n_rounds"] == 32
    from scipy.io import savemat

    mat = tmp_path / "one.mat"  # MATLAB keeps vectors 2-D: [1, D] and [1, 1]
    savemat(mat, {"alice": a, "bob": b, "correlation": np.full(3, 0.5), "analytic_kr_bits": 2.0})
    data = load_measurements(mat)
    assert data["correlation"].shape == (1, 3) and data["analytic_kr_bits"].shape == (1,)
    a3, b3 = paired(rng, (32, 2, 3))
    many = tmp_path / "many.mat"
    savemat(
        many,
        {
            "alice": a3,
            "bob": b3,
            "correlation": np.full((2, 3), 0.5),
            "analytic_kr_bits": np.ones(2),
        },
    )
    assert load_measurements(many)["correlation"].shape == (2, 3)


def test_magnitude_limit_is_documented_and_inclusive(tmp_path):
    rng = np.random.default_rng(5)
    a, b = paired(rng, (16, 2), complex_=False)
    path = tmp_path / "big.npz"
    scale = 0.5 * MAX_ABS / np.max(np.abs(np.concatenate([a, b])))
    np.savez(path, alice=a * scale, bob=b * scale)
    assert load_measurements(path)["alice"].shape == (16, 1, 2)
    assert MAX_ABS == 1e100 and "|x| <= 1e100" in sys.modules[load_measurements.__module__].__doc__


def test_block_rounds_below_components_refused(tmp_path):
    rng = np.random.default_rng(6)
    a, b = paired(rng, (64, 20))
    path = tmp_path / "w.npz"
    np.savez(path, alice=a, bob=b)
    data = load_measurements(path)
    with pytest.raises(PlkgInputError, match=r"--block-rounds 16 .*20 components.*w\.npz"):
        measurement_key_generation(data, np.random.default_rng(0), block_rounds=16)
    with pytest.raises(PlkgInputError, match="--block-rounds"):
        measurement_key_generation(data, np.random.default_rng(0), block_rounds=65)


# ------------------------------------------------------------------ --ccm through the CLI


def ccm_case(tmp_path, case):
    rng = np.random.default_rng(7)
    h = rng.standard_normal((2, 16, 2)) + 1j * rng.standard_normal((2, 16, 2))
    ccm = 1e-7 * h @ h.conj().transpose(0, 2, 1)
    path = tmp_path / ("c.mat" if case.endswith("-mat") else "c.npz")
    if case == "garbage-mat":
        path.write_bytes(b"not a mat file at all" * 10)
    elif case == "v73-mat":
        path.write_bytes(v73_bytes())
    elif case == "text-npz":
        path.write_text("ccm\n")
    elif case == "object-array":
        buf = io.BytesIO()
        np.save(buf, np.array([{}], dtype=object), allow_pickle=True)
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("ccm.npy", buf.getvalue())
    elif case == "all-zero":
        ccm[1] = 0
        np.savez(path, ccm=ccm)
    elif case == "huge":
        np.savez(path, ccm=ccm * 1e300)
    elif case == "not-psd":
        ccm[0] = np.diag([1e-7, -1e-8] + [0.0] * 14)
        np.savez(path, ccm=ccm)
    elif case == "wrong-shape":
        np.savez(path, ccm=ccm[:1])
    return path


@pytest.mark.parametrize(
    "case, expect",
    [
        ("garbage-mat", "not a MAT file"),
        ("v73-mat", "save(..., '-v7')"),
        ("text-npz", "not an .npz"),
        ("object-array", "'ccm' holds Python objects"),
        ("all-zero", "UE 2 is all zero"),
        ("huge", "above the limit"),
        ("not-psd", "UE 1 is not positive semidefinite"),
        ("wrong-shape", "[n_users=2, n_antennas=16, n_antennas=16], got [1, 16, 16]"),
    ],
)
def test_bad_ccm_file_cli(tmp_path, capsys, case, expect):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SMALL_NEARFIELD)
    path = ccm_case(tmp_path, case)
    argv = ["keys", "--scenario", str(scenario), "--rounds", "64", "--ccm", str(path)]
    assert main(argv) == 2
    line = one_error_line(capsys)
    assert "--ccm" in line and str(path) in line and expect in line
    for words in LIBRARY_WORDS:
        assert words not in line


# ------------------------------------------------------------------ signals between blocks


# The child warms up (every lazy import of the key loop) on a small file with its output
# discarded, then says so through a flag file and runs the long file: a signal sent after the
# flag lands inside the key loop, not inside an import (where Python reports an ImportError).
CHILD = """
import contextlib, io, sys
from pathlib import Path
from plkg.cli import main
small, long, flag = sys.argv[1:4]
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    main(["keys", "--measurements", small])
Path(flag).write_text("ready")
sys.exit(main(["keys", "--measurements", long, "--block-rounds", "32"]))
"""


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_between_blocks(tmp_path, sig, status):
    rng = np.random.default_rng(8)
    files = {}
    for name, shape in (("small", (64, 2)), ("long", (4096, 2, 4))):
        a, b = paired(rng, shape, rho=0.95)
        files[name] = tmp_path / f"{name}.npz"
        np.savez(files[name], alice=a, bob=b)
    flag = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(files["small"]), str(files["long"]), str(flag)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job ignores SIGINT, and Python keeps an inherited SIG_IGN.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # inside the 256 blocks of the long file (tens of seconds of work)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    assert time.monotonic() - sent < 15
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_file_larger_than_memory_budget(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(9)
    a, b = paired(rng, (64, 2))
    path = tmp_path / "m.npz"
    np.savez(path, alice=a, bob=b)
    monkeypatch.setattr("plkg.machine.available_memory_bytes", lambda: 4096)
    assert main(["keys", "--measurements", str(path)]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and "a quarter of the memory available" in line


def test_forged_header_cli(tmp_path, capsys):
    import io as _io

    hdr = _io.BytesIO()
    np.lib.format.write_array_header_1_0(
        hdr, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 1)}
    )
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("alice.npy", hdr.getvalue() + b"\x00" * 64)
        z.writestr("bob.npy", hdr.getvalue() + b"\x00" * 64)
    assert main(["keys", "--measurements", str(path)]) == 2  # not MemoryError (exit 1)
    assert "truncated or forged" in one_error_line(capsys)


def test_block_too_short_for_training_rounds_is_refused_before_work(tmp_path, capsys):
    """D + 1 training rounds and the key rounds must fit in a block: refused before block 0."""
    rng = np.random.default_rng(10)
    a, b = paired(rng, (64, 62), complex_=False)
    path = tmp_path / "t.npz"
    np.savez(path, alice=a, bob=b)
    assert main(["keys", "--measurements", str(path)]) == 2
    line = one_error_line(capsys)
    assert str(path) in line and "64 rounds" in line


def test_progress_called_after_every_block(tmp_path):
    rng = np.random.default_rng(11)
    a, b = paired(rng, (64, 2, 2), rho=0.99)
    path = tmp_path / "p.npz"
    np.savez(path, alice=a, bob=b)
    ticks = []
    out = measurement_key_generation(
        load_measurements(path), np.random.default_rng(0), block_rounds=32, progress=ticks.append
    )
    assert ticks == ["link 1", "link 1", "link 2", "link 2"] and out["rounds"] == 64


def test_more_components_than_rounds_only_with_public_correlation(tmp_path):
    """No covariance is estimated with a public 'correlation': D > n_rounds is then accepted
    (file and blocks); without it the file is refused."""
    rng = np.random.default_rng(12)
    a, b = paired(rng, (16, 24), rho=0.999)
    with_rho = tmp_path / "wide.npz"
    np.savez(with_rho, alice=a, bob=b, correlation=np.full(24, 0.999))
    data = load_measurements(with_rho)
    assert data["alice"].shape == (16, 1, 24)
    out = measurement_key_generation(data, np.random.default_rng(0), block_rounds=8)
    assert out["users"][0]["blocks"][0].training_rounds == 0
    without = tmp_path / "wide-no-rho.npz"
    np.savez(without, alice=a, bob=b)
    with pytest.raises(PlkgInputError, match="n_components=24.*more components than rounds"):
        load_measurements(without)
