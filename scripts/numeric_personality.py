"""Run a command under the project's second numeric personality (``make test-portable``).

The first personality is the machine as it is: NumPy's fastest SIMD kernels for this CPU, OpenBLAS
and MKL tuned to it, several BLAS/OpenMP threads. The second takes the slowest portable path of
every numeric library, so that round-off differs from the first in the last bits, as it does on
another CPU:

* ``NPY_DISABLE_CPU_FEATURES``: every NumPy dispatch target above the build's baseline (on x86-64
  with NumPy 2.4: X86_V3 = AVX2/FMA3, X86_V4 = AVX-512 and the AVX-512 extensions), so NumPy's
  ufuncs (``tanh``, ``exp``, ``log``, ...) run their baseline kernels. Only names this NumPy
  dispatches are listed: NumPy refuses a baseline feature (RuntimeError at import) and warns
  about an unknown one, so the list is read from NumPy itself, never hard-coded.
* ``OPENBLAS_CORETYPE``: OpenBLAS's oldest kernels (``Prescott`` on x86-64, ``ARMV8`` on
  arm64), which every CPU of the architecture runs, for NumPy's and SciPy's OpenBLAS alike; it
  overrides whatever the environment set. ``OPENBLAS_NUM_THREADS=1``: one BLAS thread (another
  reduction order than the threaded kernels).
* ``MKL_CBWR=COMPATIBLE``: MKL's (torch's BLAS/LAPACK) SSE2-level code path;
  ``ATEN_CPU_CAPABILITY=default``: torch's non-vectorised ATen kernels;
  ``OMP_NUM_THREADS=1``/``MKL_NUM_THREADS=1``: one torch intra-op thread.

Usage::

    python scripts/numeric_personality.py --print            # the variables, one per line
    python scripts/numeric_personality.py -- pytest -q tests  # run a command under them

The command's exit status is returned unchanged; the first line printed names the personality.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys

OPENBLAS_OLDEST = {"x86_64": "Prescott", "amd64": "Prescott", "aarch64": "ARMV8", "arm64": "ARMV8"}


def numpy_dispatch_above_baseline() -> list[str]:
    """NumPy's dispatch targets that this CPU could use beyond the build's baseline.

    Read in a child process without ``NPY_DISABLE_CPU_FEATURES`` (a bad value there makes the
    import itself fail). Empty where NumPy exposes no dispatch list.
    """
    code = (
        "try:\n"
        "    from numpy._core import _multiarray_umath as m\n"
        "except ImportError:\n"
        "    from numpy.core import _multiarray_umath as m\n"
        "base = set(getattr(m, '__cpu_baseline__', []))\n"
        "print(' '.join(f for f in getattr(m, '__cpu_dispatch__', []) if f not in base))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return out.stdout.split() if out.returncode == 0 else []


def personality() -> dict[str, str]:
    """The environment variables of the second personality on this machine."""
    env = {}
    features = numpy_dispatch_above_baseline()
    if features:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(features)
    core = OPENBLAS_OLDEST.get(platform.machine().lower())
    if core:
        env["OPENBLAS_CORETYPE"] = core
    env.update(
        OPENBLAS_NUM_THREADS="1",
        MKL_CBWR="COMPATIBLE",
        ATEN_CPU_CAPABILITY="default",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


def describe(env: dict[str, str]) -> str:
    return "personality: " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())


def main(argv: list[str]) -> int:
    env = personality()
    if argv == ["--print"]:
        for key, value in env.items():
            print(f"{key}={value}")
        return 0
    if not argv or argv[0] != "--" or len(argv) < 2:
        print(__doc__.split("Usage::")[1].rstrip(), file=sys.stderr)
        return 2
    print(describe(env), flush=True)
    full = {**os.environ, **env}
    try:
        if os.name == "posix":  # the command replaces this process: signals, status unchanged
            os.execvpe(argv[1], argv[1:], full)
        return subprocess.run(argv[1:], env=full).returncode
    except OSError as exc:
        print(f"numeric_personality: cannot run {argv[1]!r}: {exc.strerror}", file=sys.stderr)
        return 127
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
