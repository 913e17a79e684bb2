"""plkg.io.arrays: safe .npz/.mat readers and the numeric field check (and the readers routed through them)."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

from plkg.errors import PlkgInputError
from plkg.io import arrays
from plkg.io.arrays import (
    MAT_V73_HINT,
    check_array,
    matlab_vector,
    read_arrays,
    read_mat,
    read_npz,
    read_npz_bytes,
)

pytestmark = pytest.mark.surface


def v73_bytes() -> bytes:
    """The 128-byte header of a MATLAB v7.3 file, its 512-byte user block and HDF5's signature."""
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\x00" * 8 + struct.pack("<H", 0x0200) + b"IM"
    return header.ljust(512, b"\x00") + b"\x89HDF\r\n\x1a\n" + b"\x00" * 64


def object_npz(path, names=("alice",)):
    """An .npz whose members are pickled object arrays (as np.savez(..., allow_pickle) writes)."""
    buf = io.BytesIO()
    np.save(buf, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            z.writestr(f"{name}.npy", buf.getvalue())
    return path


def refused(match, fn, *args, **kwargs):
    with pytest.raises(PlkgInputError, match=match) as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


# ------------------------------------------------------------------ .npz


def test_read_npz_returns_arrays(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, x=np.arange(3.0), s=np.asarray("text"))
    out = read_npz(path, what="--thing")
    assert set(out) == {"x", "s"} and np.array_equal(out["x"], [0.0, 1.0, 2.0])
    only = read_npz(path, what="--thing", fields=("x",), optional=("nope",))
    assert set(only) == {"x"}


def test_missing_file_names_option_and_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="--thing: no such file") as info:
        read_npz(tmp_path / "gone.npz", what="--thing")
    assert info.value.filename == str(tmp_path / "gone.npz")
    refused("is not a regular file", read_npz, tmp_path, what="--thing")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"alice,bob\n1,2\n", "not an .npz file"),
        (b"", "not an .npz file"),
        (b"PK\x03\x04" + b"\x00" * 40, "cannot be read as .npz"),
    ],
    ids=["text", "empty", "broken-zip"],
)
def test_not_an_npz(tmp_path, content, match):
    path = tmp_path / "f.npz"
    path.write_bytes(content)
    message = refused(match, read_npz, path, what="--thing")
    assert str(path) in message and "--thing" in message


def test_truncated_npz(tmp_path):
    path = tmp_path / "t.npz"
    np.savez(path, x=np.arange(1000.0))
    path.write_bytes(path.read_bytes()[:600])
    refused("cannot be read as .npz", read_npz, path, what="--thing")


def test_npy_named_npz(tmp_path):
    path = tmp_path / "single.npz"
    with path.open("wb") as f:
        np.save(f, np.arange(3.0))
    refused("single .npy array", read_npz, path, what="--thing")


def test_object_array_never_unpickled(tmp_path, monkeypatch):
    import pickle

    def boom(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    path = object_npz(tmp_path / "o.npz", ("alice", "bob"))
    message = refused("holds Python objects", read_npz, path, what="--thing")
    assert "'alice'" in message


def test_missing_field_lists_what_is_there(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, x=np.zeros(2))
    message = refused("lacks the array 'alice'", read_npz, path, what="--m", fields=("alice",))
    assert "'x'" in message


def test_read_npz_bytes_names_source():
    buf = io.BytesIO()
    np.savez(buf, a=np.ones(2))
    assert read_npz_bytes(buf.getvalue(), source="blob")["a"].shape == (2,)
    refused("^my source is not an .npz", read_npz_bytes, b"junk", source="my source")


# ------------------------------------------------------------------ .mat


def test_v73_refused_before_scipy(tmp_path, monkeypatch):
    from scipy.io import loadmat

    path = tmp_path / "v73.mat"
    path.write_bytes(v73_bytes())
    with pytest.raises(NotImplementedError):  # what SciPy itself says: no file, no hint
        loadmat(path)
    import scipy.io

    monkeypatch.setattr(scipy.io, "loadmat", lambda *a, **k: pytest.fail("scipy was called"))
    message = refused("v7.3", read_mat, path, what="--m")
    assert MAT_V73_HINT in message and "save(..., '-v7')" in message and str(path) in message


@pytest.mark.parametrize("where", ["text-only", "hdf5-at-0", "version-only"])
def test_v73_detected_by_each_sign(tmp_path, where):
    blob = {
        "text-only": b"MATLAB 7.3 MAT-file".ljust(128, b" "),
        "hdf5-at-0": b"\x89HDF\r\n\x1a\n" + b"\x00" * 200,
        "version-only": b"X".ljust(124, b" ") + struct.pack(">H", 0x0200) + b"MI",
    }[where]
    path = tmp_path / "x.mat"
    path.write_bytes(blob)
    refused("v7.3", read_mat, path, what="--m")


def test_garbage_mat(tmp_path):
    path = tmp_path / "g.mat"
    path.write_bytes(b"hello this is not a mat file" * 10)
    message = refused("not a MAT file", read_mat, path, what="--m")
    assert str(path) in message


def test_mat_roundtrip_and_cells(tmp_path):
    from scipy.io import savemat

    path = tmp_path / "ok.mat"
    savemat(path, {"x": np.arange(6.0).reshape(2, 3), "v": np.arange(3.0)})
    out = read_mat(path, what="--m", fields=("x",), optional=("v",))
    assert out["x"].shape == (2, 3) and matlab_vector(out["v"]).shape == (3,)
    bad = tmp_path / "cell.mat"
    savemat(bad, {"alice": np.array([1, "a"], dtype=object)})
    refused("'alice' is a cell array", read_mat, bad, what="--m")


def test_read_arrays_dispatch(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n")
    refused("must be a .npz or .mat", read_arrays, path, what="--m")


# ------------------------------------------------------------------ check_array

DIMS = [("n_users", 4), ("n_components", 3)]


def test_check_array_named_shape_message():
    message = refused(
        r"'correlation' must be \[n_users=4, n_components=3\], got \[3\]",
        check_array,
        np.ones(3),
        source="f",
        field="correlation",
        dims=DIMS,
    )
    assert message.startswith("f: ")
    out = check_array(np.ones((4, 3), dtype=np.int32), source="f", field="c", dims=DIMS)
    assert out.dtype == np.float64
    either = [[("n", None)], [("n", None), ("m", 2)]]
    assert check_array(np.ones((5, 2)), source="f", field="c", dims=either).shape == (5, 2)
    refused(
        r"must be \[n\] or \[n, m=2\]",
        check_array,
        np.ones((5, 3)),
        source="f",
        field="c",
        dims=either,
    )


@pytest.mark.parametrize(
    "value, match",
    [
        (np.array(["a", "b"]), "dtype <U1"),
        (np.array([b"a"]), "dtype"),
        (np.array([True, False]), "dtype bool"),
        (np.zeros(2, dtype=[("a", "f8")]), "dtype"),
        (np.array([1 + 1j, 2]), "complex128"),
        (np.array([1.0, np.nan]), "1 NaN or infinite"),
        (np.array([np.inf, -np.inf]), "2 NaN or infinite"),
        (np.array([1.0, 1e300]), "above the limit 1e\\+100"),
    ],
    ids=["str", "bytes", "bool", "structured", "complex-where-real", "nan", "inf", "huge"],
)
def test_check_array_refusals(value, match):
    message = refused(
        match, check_array, value, source="file 'x'", field="f", dims=[("n", None)], max_abs=1e100
    )
    assert "file 'x'" in message and "'f'" in message


def test_check_array_complex_and_overflowing_abs():
    z = check_array(np.array([1 + 2j]), source="s", field="z", dims=[("n", 1)], kind="complex")
    assert z.dtype == np.complex128
    with np.errstate(all="raise"):  # no warning leaks (it would be a second stderr line)
        refused(
            "above the limit",
            check_array,
            np.array([1e308 + 1e308j]),
            source="s",
            field="z",
            dims=[("n", 1)],
            kind="complex",
            max_abs=1e100,
        )


def test_matlab_vector():
    assert matlab_vector(np.zeros((1, 4))).shape == (4,)
    assert matlab_vector(np.zeros((4, 1))).shape == (4,)
    assert matlab_vector(np.zeros((2, 4))).shape == (2, 4)


def test_io_layer_imports_only_errors():
    """plkg.io sits at the bottom: it imports plkg.errors and third-party libraries only."""
    import ast
    from pathlib import Path

    for py in Path(arrays.__file__).parent.glob("*.py"):
        tree = ast.parse(py.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("plkg"):
                    assert name == "plkg.errors" or name.startswith("plkg.io"), (py.name, name)


# ------------------------------------------------------------------ routed readers


def test_design_cache_entry_with_object_array_is_recomputed(small_scenario, tmp_path):
    from plkg.precoding import design_cache

    tiny = small_scenario.replace(n_antennas=16, n_scatterers=4, ccm_draws=1, name="t")
    path = design_cache.entry_path(tiny, tmp_path)
    object_npz(path, ("ccm", "checksum"))
    assert design_cache.load_design(path) is None
    design = design_cache.cached_design(tiny, cache_dir=tmp_path)
    assert design_cache.load_design(path) is not None and design.ccm.shape == (2, 16, 16)


def test_general_dataset_decodes_the_verified_bytes(tmp_path, monkeypatch):
    """load_general_dataset goes through read_npz_bytes on the bytes whose hash it checked."""
    from plkg.data import general_dataset

    seen = {}

    def fake_verified(path, what, fmt, key):
        buf = io.BytesIO()
        np.savez(buf, pa_dbm=np.zeros(2))
        seen["blob"] = buf.getvalue()
        return seen["blob"], {"format": fmt}

    monkeypatch.setattr("plkg.io.sidecar_hash.read_verified", fake_verified)
    ds = general_dataset.load_general_dataset(tmp_path / "never-read.npz")
    assert ds.arrays["pa_dbm"].shape == (2,)

    def bad_verified(path, what, fmt, key):
        return b"not a zip", {"format": fmt}

    monkeypatch.setattr("plkg.io.sidecar_hash.read_verified", bad_verified)
    refused(
        "general dataset .*never-read.npz",
        general_dataset.load_general_dataset,
        tmp_path / "never-read.npz",
    )


# ------------------------------------------------------------------ declared sizes


def forged_npz(path, shape=(10**12,)):
    """An .npz whose member's header declares far more data than it holds."""
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        hdr, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("alice.npy", hdr.getvalue() + b"\x00" * 64)
    return path


def test_forged_header_refused_before_allocating(tmp_path):
    path = forged_npz(tmp_path / "bomb.npz")
    message = refused("declares shape \\[1000000000000\\]", read_npz, path, what="--m")
    assert "'alice'" in message and "truncated or forged" in message


def test_max_bytes_refuses_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    np.savez(path, a=np.zeros(1000), b=np.zeros(10))
    assert read_npz(path, what="--m", fields=("b",), max_bytes=1000)["b"].shape == (10,)
    monkeypatch.setattr(
        np.lib.npyio.NpzFile, "__getitem__", lambda *a: pytest.fail("decoded anyway")
    )
    message = refused(
        r"declares 8\.\d KiB of arrays, more than 1000 bytes \(my reason\)",
        read_npz,
        path,
        what="--m",
        max_bytes=1000,
        max_bytes_why="my reason",
    )
    assert str(path) in message


def test_max_bytes_for_mat(tmp_path):
    from scipy.io import savemat

    path = tmp_path / "big.mat"
    savemat(path, {"a": np.zeros((100, 100)), "b": np.zeros((2, 2))})
    assert read_mat(path, what="--m", fields=("b",), max_bytes=1000)["b"].shape == (2, 2)
    refused(r"declares 78\.\d KiB of variables", read_mat, path, what="--m", max_bytes=1000)


def test_check_array_scalar_as_first_allowed_shape():
    """``[]`` (a scalar) may come first in a list of shapes (no IndexError)."""
    dims = [[], [("n", 1)]]
    assert check_array(np.float64(2.0), source="f", field="k", dims=dims).shape == ()
    assert check_array(np.ones(1), source="f", field="k", dims=dims).shape == (1,)
    refused(r"must be \[\] or \[n=1\]", check_array, np.ones(2), source="f", field="k", dims=dims)
    assert check_array(np.float64(1.0), source="f", field="k", dims=[]).shape == ()
