"""The documented top-level API resolves and runs the README's path end to end."""

from __future__ import annotations

import numpy as np
import pytest

import plkg


def test_every_public_name_resolves():
    for name in plkg.__all__:
        assert getattr(plkg, name) is not None
    with pytest.raises(AttributeError):
        plkg.no_such_name  # noqa: B018


def test_readme_path_matches_the_modules(small_scenario):
    design = plkg.design_for_scenario(small_scenario, cache=False)
    result = plkg.allocate("wfpa", design, 1e-3)
    report = plkg.evaluate_allocation(design, result.x_w)
    assert report.kr_bits.shape == (small_scenario.n_users,)
    # Eq. (33): I_k <= C_k, with equality for the designed precoders
    np.testing.assert_allclose(report.kr_bits, report.c_bits, rtol=1e-6)
    assert plkg.load_scenario("fig6").name == "fig6"
    assert "fig6" in plkg.available_scenarios()
