"""scripts/numeric_personality.py: the second personality of `make test` is one NumPy accepts on
this machine (no refused or unknown feature name) and really changes the kernels in use."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "numeric_personality.py"

PROBE = """
import json, numpy, torch
try:
    from numpy._core import _multiarray_umath as m
except ImportError:
    from numpy.core import _multiarray_umath as m
from threadpoolctl import threadpool_info
print(json.dumps({
    "features": {k: bool(v) for k, v in m.__cpu_features__.items()},
    "dispatch": list(m.__cpu_dispatch__),
    "blas_threads": [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"],
    "torch_threads": torch.get_num_threads(),
}))
"""


def _module():
    spec = importlib.util.spec_from_file_location("numeric_personality", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _probe(extra_env: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    out = subprocess.run(
        [sys.executable, "-W", "error::ImportWarning", "-c", PROBE],
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr  # NumPy neither refused nor warned about a name
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_personality_disables_only_what_numpy_dispatches_and_one_thread_each():
    env = _module().personality()
    native = _probe({})
    names = env.get("NPY_DISABLE_CPU_FEATURES", "").split()
    assert set(names) <= set(native["dispatch"])  # never a baseline or unknown name
    portable = _probe(env)
    for name in names:
        assert not portable["features"][name], name  # switched off for NumPy's dispatch
    assert set(portable["blas_threads"]) == {1} and portable["torch_threads"] == 1
    if platform.machine().lower() in ("x86_64", "amd64"):
        assert env["OPENBLAS_CORETYPE"] == "Prescott"


def test_runner_labels_the_run_and_returns_the_command_status():
    code = "import os, sys; print(os.environ['OPENBLAS_NUM_THREADS']); sys.exit(3)"
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = out.stdout.splitlines()
    assert out.returncode == 3
    assert lines[0].startswith("personality: ") and "OPENBLAS_NUM_THREADS=1" in lines[0]
    assert lines[1] == "1"
