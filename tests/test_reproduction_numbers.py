"""docs/reproduction.md (and assumptions.md) quote our results as in the committed run (docs/results/).

Every quoted number carries an annotation saying how to recompute it from the run's CSVs or
manifest (grammar: scripts/docs_numbers.py). The check recomputes each one; the unit tests below
pin the checker itself on a small hand-made results folder.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
DOC = ROOT / "docs" / "reproduction.md"


def _load_script():
    spec = importlib.util.spec_from_file_location(
        "docs_numbers", ROOT / "scripts" / "docs_numbers.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


docs_numbers = _load_script()


def test_reproduction_md_numbers_match_committed_run():
    """Each annotated number of docs/reproduction.md and assumptions.md equals docs/results/."""
    assert any(RESULTS.glob("*.csv")), "docs/results/ holds no CSVs: the committed run is missing"
    findings = [f for doc in docs_numbers.DEFAULT_DOCS for f in docs_numbers.scan(doc, RESULTS)]
    assert findings, "docs/reproduction.md has no annotated numbers"
    bad = [f.describe() for f in findings if not f.ok]
    assert not bad, "\n".join(bad)


def test_reproduction_md_is_annotated():
    """The doc quotes its numbers through annotations (the grammar parses every one)."""
    text = DOC.read_text(encoding="utf-8")
    annotations = docs_numbers.ANNOTATION.findall(text)
    assert len(annotations) >= 10
    for annotation, _ in annotations:
        assert annotation.split()[0] in ("csv", "manifest")


# ------------------------------------------------------------------ the checker itself
@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "fig.csv").write_text(
        "method,pa_dbm,sum_kr_bits,ref\nwfpa,-5,954.31,950\nwfpa,5,1261.6,1260\nepa,-5,938.5,940\n",
        encoding="utf-8",
    )
    manifest = {
        "code_commit": "abcdef0123456789",
        "machine": "x86_64, 2 CPU cores",
        "figures": {"a": {"seconds": 1.25}, "b": {"seconds": 2.0}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("csv fig.csv sum_kr_bits method=wfpa pa_dbm=-5 fmt=.1f", "954.3"),
        ("csv fig.csv sum_kr_bits method=wfpa stat=mean fmt=.1f", "1108.0"),
        ("csv fig.csv sum_kr_bits stat=count", "3"),
        ("csv fig.csv sum_kr_bits pa_dbm=-5.0 stat=max fmt=.1f", "954.3"),
        ("csv fig.csv sum_kr_bits stat=maxrelerr:ref scale=100 fmt=.2f", "0.45"),
        ("csv fig.csv method stat=at-max:sum_kr_bits fmt=s", "wfpa"),
        ("csv fig.csv sum_kr_bits pa_dbm<=0 stat=count", "2"),
        ("csv fig.csv sum_kr_bits stat=maxdiff:ref fmt=.2f", "4.31"),
        ("csv fig.csv sum_kr_bits method!=epa pa_dbm>-5 fmt=.1f", "1261.6"),
        ("csv fig.csv sum_kr_bits last-per=method stat=sum fmt=.1f", "2200.1"),
        ('csv fig.csv sum_kr_bits "method=wfpa" pa_dbm=5 fmt=.1f', "1261.6"),
        ("csv fig.csv sum_kr_bits method=wfpa pa_dbm=-5 per:method=epa fmt=.4f", "1.0168"),
        ("csv fig.csv sum_kr_bits method=wfpa pa_dbm=-5 minus:method=epa fmt=.2f", "15.81"),
        (
            "csv fig.csv sum_kr_bits method=epa pa_dbm=-5 relto:method=wfpa stat=maxabs scale=100 fmt=.2f",
            "1.66",
        ),
        ("manifest figures.a.seconds fmt=.3f", "1.250"),
        ("manifest figures.*.seconds stat=sum fmt=.2f", "3.25"),
        ("manifest code_commit fmt=.7s", "abcdef0"),
    ],
)
def test_evaluate(results, annotation, expected):
    assert docs_numbers.evaluate(annotation, results) == expected


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ("csv nope.csv x", "not found"),
        ("csv fig.csv nope", "no column 'nope'"),
        ("csv fig.csv sum_kr_bits method=wfpa", "exactly one row"),
        ("csv fig.csv sum_kr_bits method=fnnpa stat=mean", "no row matches"),
        ("manifest figures.c.seconds", "no key 'c'"),
        ("csv fig.csv sum_kr_bits per:method=epa", "cannot pair them"),
    ],
)
def test_evaluate_refuses(results, annotation, message):
    with pytest.raises(docs_numbers.AnnotationError, match=message):
        docs_numbers.evaluate(annotation, results)


def test_check_names_line_annotation_expected_found(results, tmp_path, capsys):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "ok <!-- csv fig.csv sum_kr_bits method=epa fmt=.1f -->938.5 bits.\n"
        "stale <!-- csv fig.csv sum_kr_bits method=wfpa pa_dbm=5 fmt=.1f -->1265.0 bits\n",
        encoding="utf-8",
    )
    assert docs_numbers.main(["--check", "--results", str(results), "--doc", str(doc)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert f"{doc}:2:" in err[0] and "pa_dbm=5" in err[0]
    assert "expected 1261.6 found 1265.0" in err[0]


def test_write_rewrites_in_place_then_check_passes(results, tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text(
        "at <!-- csv fig.csv pa_dbm method=epa fmt=.0f -->−7 dBm, "
        "<!-- csv fig.csv sum_kr_bits method=wfpa pa_dbm=5 fmt=.1f -->1265.0.\n"
        "gap <!-- csv fig.csv sum_kr_bits stat=maxdiff:ref fmt=.1e -->9.9e-9 bits\n"
        "on <!-- manifest machine fmt=s -->`arm64, 1 core`.\n",
        encoding="utf-8",
    )
    assert docs_numbers.main(["--write", "--results", str(results), "--doc", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert "-->−5 dBm" in text  # the doc's minus sign is kept
    assert "-->1261.6.\n" in text  # the sentence's full stop is kept
    assert "-->4.3e0 bits" in text  # exponents are read whole and written without "+0"
    assert "-->`x86_64, 2 CPU cores`.\n" in text  # a text with spaces stays a code span
    assert docs_numbers.main(["--check", "--results", str(results), "--doc", str(doc)]) == 0


def test_an_annotation_the_grammar_cannot_parse_is_a_finding(results, tmp_path):
    """A '>' inside the comment ends the HTML comment early: flagged, never silently skipped."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "ok <!-- csv fig.csv sum_kr_bits stat=count -->3 and\n"
        "bad <!-- csv fig.csv sum_kr_bits pa_dbm>=0 stat=count -->1\n",
        encoding="utf-8",
    )
    findings = docs_numbers.scan(doc, results)
    assert [f.ok for f in findings] == [True, False]
    assert findings[1].line == 2
