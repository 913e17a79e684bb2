"""`plkg reproduce`: registry names, unknown names, and a manifest that pins parameters and seeds."""

import json
from pathlib import Path

import pytest

from plkg.cli import main


def test_list_and_unknown(capsys):
    assert main(["reproduce", "list"]) == 0
    names = capsys.readouterr().out.split()
    for expected in (
        "nf-fig4",
        "nf-fig5",
        "nf-fig6-sum",
        "nf-fig6-fair",
        "nf-fig7",
        "nf-fig8",
        "nf-fig9",
        "nf-fig10",
    ):
        assert expected in names
    for k in (4, 5, 6, 7, 8, 9, 10, 11, 12):
        assert f"ris-fig{k}" in names
    assert "ris-table1" in names
    assert main(["reproduce", "nf-fig99"]) == 2
    assert "unknown figure" in capsys.readouterr().err


def test_manifest_records_configs_and_versions(tmp_path, capsys):
    assert main(["reproduce", "ris-fig11", "--quick", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    fig = manifest["figures"]["ris-fig11"]
    assert fig["function"].startswith("plkg.reproduce.")
    assert all((tmp_path / p).exists() and not Path(p).is_absolute() for p in fig["files"])
    assert manifest["started_utc"].endswith("Z") and "CPU cores" in manifest["machine"]
    assert manifest["configs"]["fig6"]["fingerprint"]
    assert manifest["configs"]["ris-two-cell"]["parameters"]["system"] == "ris"
    assert manifest["dependencies"]["numpy"]


def test_formats_and_dpi_are_listed_in_the_manifest(tmp_path, capsys):
    argv = ["reproduce", "ris-fig11", "--quick", "--out", str(tmp_path)]
    assert main(argv + ["--format", "png", "pdf", "svg", "--dpi", "72"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    files = [Path(p) for p in manifest["figures"]["ris-fig11"]["files"]]
    assert sorted(p.suffix for p in files) == [".csv", ".pdf", ".png", ".svg"]
    assert manifest["formats"] == ["png", "pdf", "svg"] and manifest["dpi"] == 72
    assert (tmp_path / "ris-fig11.pdf").read_bytes()[:4] == b"%PDF"
    assert b"<svg" in (tmp_path / "ris-fig11.svg").read_bytes()[:400]


def test_bad_format_and_dpi(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:  # an argparse usage error
        main(["reproduce", "ris-fig11", "--format", "jpg", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "--format" in capsys.readouterr().err
    assert main(["reproduce", "ris-fig11", "--dpi", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--dpi" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_start_line_is_progress_on_stderr(tmp_path, capsys, monkeypatch):
    """'[reproduce] NAME ...' is a progress line (stderr, silenced by --quiet); the 'done' line
    with the files stays on stdout."""
    monkeypatch.delenv("PLKG_QUIET", raising=False)
    argv = ["reproduce", "ris-fig11", "--quick", "--out", str(tmp_path)]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "[reproduce] ris-fig11 ...\n" in err and "[reproduce] ris-fig11 ..." not in out
    assert "[reproduce] ris-fig11 done in" in out
    assert main([*argv, "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "[reproduce] ris-fig11 ..." not in err and "[reproduce] ris-fig11 done in" in out
