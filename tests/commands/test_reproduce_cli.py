"""`plkg reproduce`: registry names, unknown names, and a manifest that pins parameters and seeds."""

import json
from pathlib import Path

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
    assert all(Path(p).exists() for p in fig["files"])
    assert manifest["configs"]["fig6"]["fingerprint"]
    assert manifest["configs"]["ris-two-cell"]["parameters"]["system"] == "ris"
    assert manifest["dependencies"]["numpy"]
