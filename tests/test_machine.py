"""Machine limits (plkg.machine): cores, available memory, refusal of oversized work."""

import pytest

from plkg import machine
from plkg.errors import PlkgInputError

pytestmark = pytest.mark.surface


def test_usable_cores_is_a_positive_count():
    assert machine.usable_cores() >= 1


def test_available_memory_is_positive_or_unknown():
    available = machine.available_memory_bytes()
    assert available is None or available > 0


def test_check_memory_refuses_what_exceeds_the_machine(monkeypatch):
    monkeypatch.setattr(machine, "available_memory_bytes", lambda: 8 * 2**30)
    machine.check_memory(4 * 2**30, "--starts 10")  # fits: no error
    with pytest.raises(PlkgInputError) as info:
        machine.check_memory(16 * 2**30, "--starts 1000000", "--force")
    message = str(info.value)
    assert "--starts 1000000" in message and "--force" in message
    assert "16.0 GiB" in message and "8.0 GiB" in message


def test_unknown_memory_never_refuses(monkeypatch):
    monkeypatch.setattr(machine, "available_memory_bytes", lambda: None)
    machine.check_memory(1e18, "--workers 4")


def test_cgroup_limits_cap_cores_and_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "_CGROUP", str(tmp_path))
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "memory.max").write_text(str(2 * 2**30) + "\n")
    (tmp_path / "memory.current").write_text(str(2**30) + "\n")
    monkeypatch.setattr(machine, "_meminfo_available", lambda: 64 * 2**30)
    assert machine.usable_cores() == 1  # 1.5 cores of quota: one whole core
    assert machine.available_memory_bytes() == 2**30
    (tmp_path / "cpu.max").write_text("max 100000\n")
    (tmp_path / "memory.max").write_text("max\n")
    assert machine.usable_cores() >= 1
    assert machine.available_memory_bytes() == 64 * 2**30
