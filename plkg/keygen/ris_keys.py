"""RIS adaptor of the key pipeline: optimise, probe, and generate a key per cell.

For a RIS scenario (Section V of the RIS paper) this builds the channel model, solves
Problem (14) with the AO or a baseline (``proposed``, ``no-ris``, ``rand-phase``), simulates
``n_rounds`` probing rounds (Eqs. (2)-(6)) and runs :func:`plkg.keygen.pipeline.generate_key_pair`
between BS k (Alice, z_k of Eq. (6)) and UT k (Bob, y_k of Eq. (3)) for every cell. The analytic
KGR of Theorem 1 (Eq. (8)) per cell is reported next to the final key bits per round. The M_e
measurements of a cell are decorrelated with a basis and correlations estimated from training
rounds at the start of every block (``KeyGenConfig.basis_from``), which give no key bits.
"""

from __future__ import annotations

import numpy as np

from plkg.keygen.pipeline import KeyGenConfig, aggregate, key_blocks

RIS_METHODS = ("proposed", "no-ris", "rand-phase")


def solve_configuration(scenario, method: str, rng: np.random.Generator, **solver_options):
    """Channel model and AO/baseline result for ``scenario`` (see :func:`solve_ris`)."""
    from plkg.channels.ris_multicell import build_channel_model
    from plkg.solvers.ris_alternating import solve_ris

    if method not in RIS_METHODS:
        raise ValueError(f"unknown RIS method {method!r}; choose from {', '.join(RIS_METHODS)}")
    model = build_channel_model(scenario)
    return model, solve_ris(model, method, rng=rng, **solver_options)


def ris_measurements(
    scenario,
    n_rounds: int,
    rng: np.random.Generator,
    method: str = "proposed",
    fading: str = "gaussian",
    **solver_options,
):
    """Both ends' measurements [n_rounds, K, M_e] and the solver result.

    Returns
    -------
    (alice, bob, result) with alice = z_k (Eq. (6)), bob = y_k (Eq. (3)) and the
    :class:`plkg.solvers.ris_ao_result.AOResult`.
    """
    from plkg.channels.ris_probing import simulate_ris_probing

    model, result = solve_configuration(scenario, method, rng, **solver_options)
    probe = simulate_ris_probing(
        model,
        result.precoders,
        result.phases,
        int(n_rounds),
        rng,
        fading=fading,
    )
    return probe.alice, probe.bob, result


def ris_key_generation(
    scenario,
    n_rounds: int,
    rng: np.random.Generator,
    method: str = "proposed",
    config: KeyGenConfig | None = None,
    block_rounds: int | None = None,
    fading: str = "gaussian",
    progress=None,
    **solver_options,
) -> dict:
    """Generate keys between BS k and UT k for every cell of a RIS scenario.

    Parameters
    ----------
    scenario : RISScenario
    n_rounds : int
        Probing rounds, >= 8.
    rng : numpy.random.Generator
        Initial/random phases, probing simulation and the pipeline's public randomness.
    method : {"proposed", "no-ris", "rand-phase"}
    config : KeyGenConfig or None
    block_rounds : int or None
        Rounds per key block (``None``: one block per cell).
    fading : {"gaussian", "cascaded"}
        Channel draw of :func:`plkg.channels.ris_probing.simulate_ris_probing`.
    progress : callable or None
        ``progress("cell k")`` after every block of every cell (cells numbered from 1).

    Returns
    -------
    dict with per-cell aggregates (``cells``, in cell order, each with its number ``cell``
    counted from 1), ``analytic_kr_bits`` (Theorem 1, bits per
    round), ``wskr_bits`` and the solver status.
    """
    if int(n_rounds) != n_rounds or n_rounds < 8:
        raise ValueError(f"n_rounds must be an integer >= 8, got {n_rounds!r}")
    block = int(n_rounds) if block_rounds is None else int(block_rounds)
    if block < 8:
        raise ValueError(f"block_rounds must be >= 8, got {block_rounds!r}")
    config = config or KeyGenConfig()
    alice, bob, result = ris_measurements(scenario, n_rounds, rng, method, fading, **solver_options)
    cells = []
    for k in range(alice.shape[1]):
        blocks = key_blocks(
            alice[:, k], bob[:, k], rng, config, block, progress=progress, label=f"cell {k + 1}"
        )
        entry = {
            "cell": k + 1,
            **aggregate(blocks),
            "analytic_kr_bits": float(result.kgr_bits[k]),
            "blocks": blocks,
        }
        cells.append(entry)
    return {
        "system": "ris",
        "method": method,
        "solver_status": result.status,
        "solver_iterations": result.iterations,
        "wskr_bits": float(result.wskr_bits),
        "bs_power_dbm": float(scenario.bs_power_dbm),
        "n_ris_elements": int(scenario.n_ris_elements),
        "cells": cells,
    }
