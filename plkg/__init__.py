"""plkg: physical-layer key generation research toolkit.

Two systems are modelled:

* the near-field multi-user ELAA system of ``nearfield-multiuser-key-rate.md`` (channels, probing,
  key rates, block-diagonal precoding, power allocation, learned allocators);
* the RIS-aided multi-cell system of ``ris-multicell-key-generation.md``.

The top-level API covers the usual path from a scenario to key rates (these examples run as
doctests in ``make test``):

>>> import plkg
>>> scenario = plkg.load_scenario("fig6")       # configs/fig6.yaml (package data)
>>> scenario.n_users, scenario.n_antennas
(4, 256)
>>> design = plkg.design_for_scenario(scenario)  # CCM + subchannels, cached per machine
>>> design.n_users, len(design.n_subchannels)
(4, 4)
>>> result = plkg.allocate("wfpa", design, plkg.units.dbm_to_w(10.0))  # P_a = 10 dBm = 10 mW
>>> result.status, result.x_w.shape == (design.n_total,)
('optimal', True)
>>> round(float(result.x_w.sum()) * 1e3, 6)     # water-filling spends the whole budget (mW)
10.0
>>> report = plkg.evaluate_allocation(design, result.x_w)
>>> report.kr_bits.shape, report.sum_kr_bits > 0
((4,), True)

``allocate`` checks everything on every call. For many budgets on one design, ``bind`` checks
and loads once; each call returns ``allocate``'s result, and ``x_w`` is the online fast path:

>>> import numpy as np
>>> wf = plkg.bind("wfpa", design)
>>> wf(plkg.units.dbm_to_w(10.0)).x_w.tolist() == result.x_w.tolist()  # allocate's bits
True
>>> budgets = plkg.units.dbm_to_w(np.array([0.0, 10.0, 20.0]))  # W
>>> x = wf.x_w(budgets)                       # [3, N_D]: bound water-filling, one batch
>>> x.shape == (3, design.n_total), bool(np.allclose(x.sum(axis=1), budgets, rtol=1e-12))
(True, True)

The RIS-aided system: Algorithms 1 + 2 (alternating optimisation) from a random start.

>>> ris = plkg.solve_ris(plkg.load_ris_scenario("two-cell"), rng=np.random.default_rng(0))
>>> ris.status, len(ris.kgr_bits), ris.wskr_bits > 0
('converged', 2, True)

Every public name checks its arguments first and names the one it refuses: a wrong type is a
``TypeError`` (:class:`plkg.errors.PlkgTypeError`), a wrong value a ``ValueError``
(:class:`plkg.errors.PlkgInputError`); both are ``PlkgInputError`` (CLI exit status 2).

>>> plkg.allocate("wfpa", "design", 1.0)
Traceback (most recent call last):
    ...
plkg.errors.PlkgTypeError: design must be a SubchannelDesign (from plkg.design_for_scenario), got str 'design'
>>> plkg.allocate("wfpa", design, 1.0, bogus=3)  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
plkg.errors.PlkgTypeError: allocate() got an unknown option 'bogus'; options of 'wfpa': rtol, max_iter, ...
>>> plkg.units.dbm_to_w(float("nan"))
Traceback (most recent call last):
    ...
plkg.errors.PlkgInputError: power_dbm must be finite or -inf (dBm), got nan

Names are imported on first use, so ``import plkg`` stays cheap.
"""

from importlib import import_module

from plkg._version import __version__

# public name -> "module:attribute"
_API = {
    "NearFieldScenario": "plkg.channels.nearfield_scenario:NearFieldScenario",
    "load_scenario": "plkg.channels.nearfield_scenario:load_scenario",
    "available_scenarios": "plkg.channels.nearfield_scenario:available_scenarios",
    "scenario_ccm": "plkg.channels.nearfield:scenario_ccm",
    "SubchannelDesign": "plkg.precoding.subchannel_design:SubchannelDesign",
    "design_for_scenario": "plkg.precoding.design_cache:design_for_scenario",
    "design_subchannels": "plkg.precoding.block_diagonalization:design_subchannels",
    "allocate": "plkg.inference.methods:allocate",
    "bind": "plkg.inference.bind:bind",
    "ALLOCATION_METHODS": "plkg.inference.methods:ALLOCATION_METHODS",
    "evaluate_allocation": "plkg.keyrate.evaluate:evaluate_allocation",
    "KeyRateReport": "plkg.keyrate.evaluate:KeyRateReport",
    "Allocator": "plkg.inference.allocator:Allocator",
    "FairnessAllocator": "plkg.inference.fairness_allocator:FairnessAllocator",
    "load_checkpoint": "plkg.inference.checkpoint:load_checkpoint",
    "RISScenario": "plkg.channels.ris_scenario:RISScenario",
    "load_ris_scenario": "plkg.channels.ris_scenario:load_ris_scenario",
    "solve_ris": "plkg.solvers.ris_alternating:solve_ris",
    "units": "plkg.units",
    "defaults": "plkg.defaults",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    target = _API.get(name)
    if target is None:
        # Python's traceback adds "Did you mean: ...?" from __dir__ (the public names below)
        raise AttributeError(f"module 'plkg' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    module = import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
