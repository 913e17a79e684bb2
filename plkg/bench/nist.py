"""NIST SP 800-22 throughput: bits per second of every test (``plkg bench nist``)."""

from __future__ import annotations

import numpy as np

from plkg.bench import median_time_s


def run(quick: bool = False) -> dict:
    """Median time and throughput (bits/s) of each of the nine tests on random sequences.

    Sizes: 2,048 bits (RIS Table I sequences) and 10^6 bits (Appendix B size; 10^5 in quick mode).
    """
    from plkg.keygen.nist import NIST_TESTS

    rng = np.random.default_rng(0)
    sizes = [2048, 100_000 if quick else 1_000_000]
    repeats = 3 if quick else 7
    out: dict = {"repeats": repeats, "sizes_bits": sizes, "tests": {}}
    for n in sizes:
        bits = rng.integers(0, 2, n, dtype=np.int8)
        for name, fn in NIST_TESTS.items():
            t = median_time_s(
                lambda fn=fn, bits=bits: fn(bits),
                repeats=repeats,
                min_time_s=0.02 if quick else 0.05,
            )
            out["tests"].setdefault(name, {})[str(n)] = {"seconds": t, "bits_per_s": n / t}
        t_all = median_time_s(
            lambda bits=bits: [fn(bits) for fn in NIST_TESTS.values()],
            repeats=repeats,
            min_time_s=0.02,
        )
        out.setdefault("all_nine", {})[str(n)] = {"seconds": t_all, "bits_per_s": n / t_all}
    return out


BENCHMARKS = {"nist": run}
