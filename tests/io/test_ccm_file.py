"""plkg.io.ccm_file.read_ccm: a user's CCMs checked per UE before any design work."""

from __future__ import annotations

import numpy as np
import pytest

from plkg.errors import PlkgInputError
from plkg.io import ccm_file
from plkg.io.ccm_file import read_ccm

pytestmark = pytest.mark.surface

K, N = 2, 8


def good_ccm(rng) -> np.ndarray:
    h = rng.standard_normal((K, N, 3)) + 1j * rng.standard_normal((K, N, 3))
    return 1e-7 * h @ h.conj().transpose(0, 2, 1)  # rank 3, PSD, path-loss-sized


def write(tmp_path, ccm, name="c.npz"):
    path = tmp_path / name
    np.savez(path, ccm=ccm)
    return path


def test_good_file_is_returned_hermitian(tmp_path, rng):
    ccm = good_ccm(rng)
    ccm[0, 0, 1] += 1e-12 * abs(ccm[0, 0, 1])  # round-off-sized asymmetry is symmetrised
    out = read_ccm(write(tmp_path, ccm), expected_shape=(K, N, N))
    assert out.dtype == np.complex128 and out.shape == (K, N, N)
    assert np.array_equal(out, out.conj().transpose(0, 2, 1))
    assert np.allclose(out, ccm, rtol=1e-9, atol=0)


def test_mat_file(tmp_path, rng):
    from scipy.io import savemat

    path = tmp_path / "c.mat"
    savemat(path, {"ccm": good_ccm(rng)})
    assert read_ccm(path, expected_shape=(K, N, N)).shape == (K, N, N)


def cases(rng):
    def with_ue2(fn):  # index 1: the second UE, "UE 2" (UEs are numbered from 1)
        c = good_ccm(rng)
        c[1] = fn(c[1])
        return c

    skew = np.zeros((N, N), complex)
    skew[0, 1] = 1e-7
    neg = np.diag([1e-7, -1e-8] + [0.0] * (N - 2)).astype(complex)
    zero_trace = np.diag([1e-7, -1e-7] + [0.0] * (N - 2)).astype(complex)
    return {
        "wrong-shape": (
            good_ccm(rng)[:, :4, :4],
            r"must be \[n_users=2, n_antennas=8, n_antennas=8\]",
        ),
        "nan": (with_ue2(lambda r: r * np.nan), "NaN or infinite"),
        "huge": (good_ccm(rng) * 1e300, "above the limit"),
        "all-zero": (with_ue2(lambda r: 0 * r), "UE 2 is all zero"),
        "zero-trace": (with_ue2(lambda r: zero_trace), "UE 2 has zero trace"),
        "tiny": (with_ue2(lambda r: r * 1e-200), "UE 2 has entries up to"),
        "non-hermitian": (with_ue2(lambda r: r + skew), "UE 2 is not Hermitian"),
        "not-psd": (
            with_ue2(lambda r: neg),
            r"UE 2 is not positive semidefinite.*-1\.000e-01 x the largest",
        ),
        "negative-definite": (
            with_ue2(lambda r: -1e-7 * np.eye(N)),
            "UE 2 is not positive semidefinite: no eigenvalue",
        ),
        "strings": (np.array(["a"] * (K * N * N)).reshape(K, N, N), "dtype"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "wrong-shape",
        "nan",
        "huge",
        "all-zero",
        "zero-trace",
        "tiny",
        "non-hermitian",
        "not-psd",
        "negative-definite",
        "strings",
    ],
)
def test_refusals_name_file_field_and_ue(tmp_path, rng, case):
    ccm, match = cases(rng)[case]
    path = write(tmp_path, ccm)
    with pytest.raises(PlkgInputError, match=match) as info:
        read_ccm(path, expected_shape=(K, N, N))
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "--ccm" in message


def test_shortcut_never_accepts_what_the_exact_test_refuses(rng):
    """The Cholesky shortcut is at least as strict as lambda_min >= -PSD_RTOL lambda_max."""
    for scale in (0.5, 2.0, 10.0):
        lam = np.array([1.0, 0.3, -scale * ccm_file.PSD_RTOL] + [0.0] * 5)
        q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
        r = (q * lam) @ q.T
        if lam.min() < -ccm_file.PSD_RTOL * lam.max():
            assert not ccm_file._clearly_psd(r, float(np.trace(r)))


def test_missing_and_damaged_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="--ccm: no such file"):
        read_ccm(tmp_path / "none.npz", expected_shape=(K, N, N))
    path = tmp_path / "t.npz"
    path.write_text("ccm\n")
    with pytest.raises(PlkgInputError, match="not an .npz"):
        read_ccm(path, expected_shape=(K, N, N))
    other = tmp_path / "o.npz"
    np.savez(other, cov=np.eye(2))
    with pytest.raises(PlkgInputError, match="lacks the array 'ccm'"):
        read_ccm(other, expected_shape=(K, N, N))


def test_hermitian_tolerance_matches_keyrate():
    from plkg.keyrate.gaussian import HERMITIAN_RTOL

    assert ccm_file.HERMITIAN_RTOL == HERMITIAN_RTOL
