"""``plkg nist FILE [--binary] [--batch-length N] --json``: NIST SP 800-22 tests on a bit file.

FILE holds ASCII '0'/'1' characters (whitespace ignored) or, with ``--binary``, raw bytes (each
byte gives 8 bits, most significant first). Without ``--batch-length`` the nine tests run on the
whole sequence; with it the sequence is split into sequences of N bits and the section 4.2
summary (pass ratio with its acceptable range, uniformity P-value) is reported per test. Bits
after the last whole sequence are dropped, as NIST's own suite does: one note on stderr, and
``dropped_bits`` in the JSON report; a file shorter than one sequence is refused.

Every test gets a verdict: ``PASS``, ``FAIL`` or ``N/A`` (not applicable: the input is shorter than
the test's recommended size, so it says nothing either way). Exit status: 0 when no test failed
and at least one applied; 1 when a test failed or none applied; 2 for bad input. With
``--report-only`` the status is 0 whatever the verdicts.

``--block-size``, ``--apen-m`` and ``--serial-m`` set one test each; with a ``--tests`` list that
leaves that test out they are refused. ``--json`` prints strict JSON (a P-value that was not
computed is ``null``).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from plkg.commands._applies import check_applies
from plkg.io.json_text import dumps_strict

# The test each test-specific option sets.
OPTION_TESTS = {
    "--block-size": "block_frequency",
    "--apen-m": "approximate_entropy",
    "--serial-m": "serial",
}


def register(sub) -> None:
    p = sub.add_parser(
        "nist", help="NIST SP 800-22 tests (nine of the RIS paper's Table I) on a bit file"
    )
    p.add_argument(
        "file", help="file of ASCII '0'/'1' (whitespace ignored), or raw bytes with --binary"
    )
    p.add_argument(
        "--binary", action="store_true", help="FILE holds raw bytes (8 bits each, MSB first)"
    )
    p.add_argument(
        "--batch-length",
        type=int,
        default=None,
        help="split into sequences of N bits (batch mode); the bits after the last whole "
        "sequence are dropped with a note, as NIST's suite does (JSON: dropped_bits)",
    )
    p.add_argument(
        "--tests", default=None, help="comma-separated subset of the tests (default: all nine)"
    )
    p.add_argument("--alpha", type=float, default=0.01, help="significance level (default 0.01)")
    p.add_argument(
        "--block-size",
        type=int,
        default=None,
        help="block frequency M (default: 128, or floor(0.01 n) + 1 for n >= 12800 bits)",
    )
    p.add_argument(
        "--apen-m",
        type=int,
        default=None,
        help="approximate entropy m (default: largest eligible, at most 10)",
    )
    p.add_argument(
        "--serial-m", type=int, default=None, help="serial m (default: largest eligible)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="exit 0 even when a test fails (default: exit 1 on a failed or no applicable test)",
    )
    p.set_defaults(func=run)


def read_bits(path: str | Path, binary: bool = False) -> np.ndarray:
    """Bits of a file: ASCII '0'/'1' (whitespace ignored) or raw bytes; ValueError if non-binary/empty."""
    if Path(path).is_dir():
        raise ValueError(f"{path}: is a directory; give a file of bits")
    data = Path(path).read_bytes()
    if not data:
        raise ValueError(f"{path}: empty input")
    if binary:
        return np.unpackbits(np.frombuffer(data, dtype=np.uint8)).astype(np.int8)
    text = bytes(c for c in data if c not in b" \t\r\n\v\f")
    if not text:
        raise ValueError(f"{path}: no bits (only whitespace)")
    arr = np.frombuffer(text, dtype=np.uint8)
    bad = arr[(arr != ord("0")) & (arr != ord("1"))]
    if bad.size:
        shown = sorted({chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in bad[:50].tolist()})
        raise ValueError(
            f"{path}: non-binary data (characters {shown!r}); expected ASCII '0'/'1' or pass --binary"
        )
    return (arr - ord("0")).astype(np.int8)


def _check_options(args) -> None:
    """Refuse option values no test can use, naming the option (before any test runs)."""
    from plkg.keygen.nist.approximate_entropy import MAX_BLOCK_LENGTH as APEN_MAX
    from plkg.keygen.nist.serial import MAX_BLOCK_LENGTH as SERIAL_MAX

    limits = (("--apen-m", args.apen_m, 1, APEN_MAX), ("--serial-m", args.serial_m, 2, SERIAL_MAX))
    for flag, value, low, high in limits:
        if value is not None and not low <= value <= high:
            raise ValueError(f"{flag} must be an integer in [{low}, {high}], got {value}")
    if args.block_size is not None and args.block_size < 1:
        raise ValueError(f"--block-size must be a positive integer, got {args.block_size}")


def _tests(spec: str | None) -> list[str] | None:
    if spec is None:
        return None
    tests = [t.strip() for t in spec.split(",") if t.strip()]
    if not tests:
        raise ValueError(f"--tests {spec!r} names no test; give e.g. --tests frequency,runs")
    return tests


def _check_selected(args, tests: list[str] | None) -> None:
    """Refuse a test-specific option whose test ``--tests`` leaves out."""
    if tests is None:
        return
    for option, test in OPTION_TESTS.items():
        value = getattr(args, option[2:].replace("-", "_"))
        if test not in tests:  # --tests leaves the one test that reads the option out
            check_applies(option, value, "--tests", ",".join(tests), (test,))


def exit_status(report: dict) -> tuple[int, str]:
    """(1, why) when a test failed or none applied, else (0, "")."""
    tests = report["tests"].values() if report["mode"] == "single" else report["tests"]
    verdicts = [t["verdict"] for t in tests]
    failed = sorted({t.get("name") or t.get("test") for t in tests if t["verdict"] == "fail"})
    if failed:
        return 1, f"failed: {', '.join(failed)}"
    if "pass" not in verdicts:
        return 1, "no test was applicable (too few bits for every selected test)"
    return 0, ""


def _options(args) -> dict:
    opts = {}
    if args.block_size is not None:
        opts["block_frequency"] = {"block_size": args.block_size}
    if args.apen_m is not None:
        opts["approximate_entropy"] = {"block_length": args.apen_m}
    if args.serial_m is not None:
        opts["serial"] = {"block_length": args.serial_m}
    return opts


def _clean(value):
    """The report with every non-finite number (a P-value not computed) as None (JSON null)."""
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def nist_report(
    bits: np.ndarray, batch_length: int | None, tests, options: dict, alpha: float
) -> dict:
    """JSON report of the single-sequence or batch run."""
    from plkg.keygen.nist import run_batch, run_tests

    if not 0 < alpha < 1:
        raise ValueError(f"--alpha must lie in (0, 1), got {alpha}")
    if batch_length is None:
        results = run_tests(bits, tests, options)
        return {
            "mode": "single",
            "n_bits": int(bits.size),
            "alpha": alpha,
            "tests": {
                name: {**r.to_dict(), "passed": r.passed(alpha), "verdict": r.verdict(alpha)}
                for name, r in results.items()
            },
        }
    if batch_length < 1:
        raise ValueError(f"--batch-length must be a positive integer, got {batch_length}")
    n_sequences, dropped = divmod(int(bits.size), batch_length)
    if n_sequences == 0:
        raise ValueError(
            f"--batch-length {batch_length} is longer than the input ({bits.size} bits): "
            "give at most the number of bits"
        )
    seqs = bits[: n_sequences * batch_length].reshape(n_sequences, batch_length)
    summaries = run_batch(seqs, tests, options, alpha)
    return {
        "mode": "batch",
        "n_bits": int(bits.size),
        "n_sequences": n_sequences,
        "sequence_length": int(batch_length),
        "dropped_bits": dropped,
        "alpha": alpha,
        "tests": [s.to_dict() for s in summaries],
    }


def run(args) -> int:
    _check_options(args)
    tests = _tests(args.tests)
    _check_selected(args, tests)
    bits = read_bits(args.file, args.binary)
    report = _clean(nist_report(bits, args.batch_length, tests, _options(args), args.alpha))
    if report.get("dropped_bits"):
        print(
            f"plkg nist: note: the last {report['dropped_bits']} of {report['n_bits']} bits do not "
            f"fill a sequence of {report['sequence_length']} and are not tested",
            file=sys.stderr,
        )
    status, why = exit_status(report)
    report["exit_status_reason"] = why or None
    if args.json:
        print(dumps_strict(report, indent=2))
    else:
        _print_report(report)
    if status and not args.report_only:
        print(f"plkg nist: {why} (exit 1; --report-only to exit 0)", file=sys.stderr)
        return status
    return 0


def _print_report(report: dict) -> None:
    if report["mode"] == "single":
        print(f"plkg nist: {report['n_bits']} bits")
        for name, r in report["tests"].items():
            ps = ", ".join(
                f"{k} {'n/a' if v is None else f'{v:.6f}'}" for k, v in r["p_values"].items()
            )
            flag = {"pass": "PASS", "fail": "FAIL"}.get(r["verdict"], "N/A ")
            note = f"  [{r['note']}]" if r["note"] else ""
            print(f"  {name:20s} {flag}  {ps}{note}")
    else:
        print(f"plkg nist: {report['n_sequences']} sequences of {report['sequence_length']} bits")
        for s in report["tests"]:
            pt = s["uniformity_p_value"]
            pt_text = "n/a" if pt is None else f"{pt:.6f}"
            flag = {"pass": "PASS", "fail": "FAIL"}.get(s["verdict"], "N/A ")
            print(
                f"  {s['test']:20s} {s['label']:10s} {flag}  pass ratio {s['pass_ratio']:.4f}  "
                f"uniformity P {pt_text}"
            )
