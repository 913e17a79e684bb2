"""Check or rewrite the numbers the docs quote from committed ``plkg reproduce`` results.

Every number of ``docs/reproduction.md`` (and ``docs/assumptions.md``) that comes from our
results carries an invisible HTML comment, directly in front of it, saying how to recompute it::

    <!-- csv nf-fig6-sum.csv sum_kr_bits_eq17 method=wfpa pa_dbm=-5 fmt=.1f -->954.3
    <!-- csv nf-fig5.csv mu_hat split=train stat=pearson:mu fmt=.7f -->0.9999928
    <!-- csv nf-fig6-sum.csv sum_kr_bits_eq17 method=fnnpa per:method=wfpa stat=min fmt=.5f -->0.99945
    <!-- csv nf-fig6-fair.csv min_kr_bits "method=fnnpakf --mapping exact" pa_dbm=15 fmt=.2f -->121.40
    <!-- manifest figures.nf-fig5.seconds fmt=.1f -->1.7
    <!-- manifest figures.*.seconds stat=sum scale=0.0166667 fmt=.0f -->18
    <!-- manifest code_commit fmt=.7s -->5f1c09f

Annotation grammar (tokens separated by spaces):

``csv FILE COLUMN [FILTER ...] [last-per=COL] [per:COL=V | minus:COL=V] [stat=STAT] [scale=X] [fmt=SPEC]``
    FILE is read from the results folder (default ``docs/results``). A FILTER ``col=value``
    keeps the rows whose ``col`` equals ``value`` (numerically, to 1e-9 relative, when both
    parse as numbers; as text otherwise); quote a value with spaces: ``"method=fnnpakf exact"``.
    ``col!=value``, ``col<value``, ``col<=value``, ``col>value``, ``col>=value`` filter too (the
    order comparisons on numbers only). STAT is one of ``value`` (the default: exactly one row
    must remain), ``mean``, ``median``, ``min``, ``max``, ``sum``, ``std``, ``meanabs``, ``maxabs``, ``count``,
    ``first``, ``last``, ``pearson:OTHER`` (Pearson r of COLUMN and OTHER), ``maxdiff:OTHER``
    (the largest COLUMN - OTHER), ``maxrelerr:OTHER`` and ``meanrelerr:OTHER`` (max / mean of
    |COLUMN - OTHER| / |OTHER|), ``at-max:OTHER`` and
    ``at-min:OTHER`` (COLUMN's value on the row where OTHER is largest / smallest).
    ``last-per=COL`` keeps, after the filters, only the last row of each value of COL (the final
    iteration of every random start, say) before the statistic. ``per:COL=V`` (``minus:COL=V``)
    (``relto:COL=V``: (COLUMN - it) / it) divides COLUMN by (subtracts from it) the same column of the rows selected with COL=V in
    place of the filter on COL, row by row in file order: ``method=fnnpa per:method=wfpa`` is the
    FNNPA / WFPA ratio at every power; then ``stat=at-min:pa_dbm`` gives the power of the
    smallest ratio.
``manifest KEY.PATH [stat=STAT] [scale=X] [fmt=SPEC]``
    A value of ``manifest.json`` in the results folder; ``*`` in the path takes every key of
    that level (then a STAT such as ``sum`` or ``max`` reduces the list).

The result is multiplied by ``scale`` (default 1) and formatted with Python's ``format(value,
fmt)`` (default ``g``; an ``s`` spec formats text). The number in the doc is the text after the
comment up to the first character that cannot belong to a number (``-`` and ``−`` signs, digits,
``.``, ``e``, ``,``, hex digits for text values); a text with spaces is quoted as a code span
(``<!-- manifest machine fmt=s -->`x86_64, 2 cores` `` (a date likewise)).

Usage::

    python scripts/docs_numbers.py --check            # exit 1, one line per number that differs
    python scripts/docs_numbers.py --write            # rewrite the numbers in place
    python scripts/docs_numbers.py --check --results /tmp/run --doc docs/reproduction.md
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RESULTS = ROOT / "docs" / "results"
DEFAULT_DOCS = (ROOT / "docs" / "reproduction.md", ROOT / "docs" / "assumptions.md")

# The comment, then the quoted value: a number (either minus sign) or a word of hex/text.
ANNOTATION = re.compile(
    r"<!--\s*((?:csv|manifest)\s[^>]*?)\s*-->"
    r"(`[^`\n]*`|[−-]?(?:[0-9A-Za-z.,+]|(?<=[0-9]e)[−-])*)"
)
# Any comment that starts like an annotation: one the grammar does not parse (a ">" inside, a
# missing "-->") would otherwise go unchecked.
ANNOTATION_START = re.compile(r"<!--\s*(?:csv|manifest)\s")
EXPONENT = re.compile(r"e([+-])0*(\d)")
NUMBER_TAIL = re.compile(r"[.,]+$")  # a sentence's full stop or comma is not part of the number


class AnnotationError(ValueError):
    """An annotation that cannot be evaluated (bad syntax, missing file, column or row)."""


@dataclass(frozen=True)
class Finding:
    """One annotated number of a doc: where it is, what it says, what the results give."""

    doc: Path
    line: int
    annotation: str
    found: str
    expected: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.found == self.expected

    def describe(self) -> str:
        where = f"{self.doc}:{self.line}: <!-- {self.annotation} -->"
        if self.error is not None:
            return f"{where} cannot be evaluated: {self.error}"
        return f"{where} expected {self.expected} found {self.found}"


# ------------------------------------------------------------------ reading results
def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise AnnotationError(f"results file {path} not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _matches(cell: str, wanted: str) -> bool:
    a, b = _as_float(cell), _as_float(wanted)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return cell == wanted


def _column(rows: list[dict[str, str]], name: str, file: str) -> list[float]:
    values = [_as_float(row[name]) for row in rows]
    if any(v is None for v in values):
        raise AnnotationError(f"column {name!r} of {file} holds a non-number in the selected rows")
    return [float(v) for v in values]  # type: ignore[arg-type]


def _reduce(values: list, stat: str, other: list[float] | None) -> object:
    """Apply a statistic to the selected values (``other``: the paired column, if any)."""
    if not values:
        raise AnnotationError("no row matches the filters")
    name = stat.split(":", 1)[0]
    if name == "value":
        if len(values) != 1:
            raise AnnotationError(
                f"stat=value needs exactly one row, the filters leave {len(values)}"
            )
        return values[0]
    if name == "count":
        return len(values)
    if name in ("first", "last"):
        return values[0] if name == "first" else values[-1]
    if name in ("at-max", "at-min") and other is not None:
        pick = max if name == "at-max" else min
        return values[pick(range(len(other)), key=other.__getitem__)]
    nums = [float(v) for v in values]
    simple = {
        "mean": lambda: sum(nums) / len(nums),
        "median": lambda: _median(nums),
        "min": lambda: min(nums),
        "max": lambda: max(nums),
        "sum": lambda: sum(nums),
        "std": lambda: _std(nums),
        "meanabs": lambda: sum(abs(v) for v in nums) / len(nums),
        "maxabs": lambda: max(abs(v) for v in nums),
    }
    if name in simple:
        return simple[name]()
    if other is None:
        raise AnnotationError(f"unknown stat {stat!r}")
    if name == "pearson":
        return _pearson(nums, other)
    if name == "maxdiff":
        return max(a - b for a, b in zip(nums, other, strict=True))
    if name in ("maxrelerr", "meanrelerr"):
        errs = [abs(a - b) / abs(b) for a, b in zip(nums, other, strict=True)]
        return max(errs) if name == "maxrelerr" else sum(errs) / len(errs)
    raise AnnotationError(f"unknown stat {stat!r}")


def _median(x: list[float]) -> float:
    s = sorted(x)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def _std(x: list[float]) -> float:
    mean = sum(x) / len(x)
    return math.sqrt(sum((v - mean) ** 2 for v in x) / len(x))


def _pearson(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


# ------------------------------------------------------------------ evaluating annotations
_PAIRED = ("pearson", "maxdiff", "maxrelerr", "meanrelerr", "at-max", "at-min")


FILTER = re.compile(r"^([^<>=!]+)(<=|>=|!=|=|<|>)(.*)$")
OPTIONS = ("stat", "scale", "fmt", "last-per")


COMBINE = re.compile(r"^(per|minus|relto):([^=]+)=(.*)$")


def _options(tokens: list[str]) -> tuple[list[str], list[tuple[str, str, str]], dict]:
    """Split tokens into words, filters (col OP value) and options (stat, scale, fmt, ...).

    ``per:col=value`` / ``minus:col=value`` go to ``options["combine"]`` as (op, col, value).
    """
    words, filters, options = [], [], {}
    for token in tokens:
        combine = COMBINE.match(token)
        match = FILTER.match(token)
        if combine is not None:
            options.setdefault("combine", []).append(combine.groups())
        elif match is None:
            words.append(token)
        elif match.group(1) in OPTIONS and match.group(2) == "=":
            options[match.group(1)] = match.group(3)
        else:
            filters.append(match.groups())
    return words, filters, options


def _keeps(cell: str, op: str, wanted: str) -> bool:
    """Whether a row's cell passes one filter (``=``/``!=`` also on text; order needs numbers)."""
    if op in ("=", "!="):
        return _matches(cell, wanted) == (op == "=")
    a, b = _as_float(cell), _as_float(wanted)
    if a is None or b is None:
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _select(rows: list[dict], filters: list, group: str | None) -> list[dict]:
    """The rows passing every filter (then the last of each ``group`` value, if given)."""
    rows = [r for r in rows if all(_keeps(r[k], op, v) for k, op, v in filters)]
    if group is not None:
        # the last row of each group, e.g. the final objective of every random start
        rows = list({r[group]: r for r in rows}.values())
    return rows


_OPS = {"per": lambda a, b: a / b, "minus": lambda a, b: a - b, "relto": lambda a, b: (a - b) / b}


def _combined(table, rows, filters, column, file, group, combine) -> list[float]:
    """COLUMN of the selection ``rows``, divided by / minus the same column of the selection whose
    filters are overridden by ``combine`` (rows paired in file order); ``table``: (header, rows)."""
    header, all_rows = table
    values = _column(rows, column, file)
    for op, key, value in combine:
        if key not in header:
            raise AnnotationError(f"{file} has no column {key!r} (columns: {', '.join(header)})")
        others = [f for f in filters if f[0] != key] + [(key, "=", value)]
        base = _column(_select(all_rows, others, group), column, file)
        if len(base) != len(values):
            raise AnnotationError(
                f"{op}:{key}={value} selects {len(base)} rows against {len(values)}: cannot pair them"
            )
        pairs = zip(values, base, strict=True)
        values = [_OPS[op](a, b) for a, b in pairs]
    return values


def _evaluate_csv(
    words: list[str], filters: list, stat: str, results: Path, options: dict
) -> object:
    if len(words) != 2:
        raise AnnotationError("a csv annotation needs FILE and COLUMN")
    file, column = words
    header, all_rows = _read_csv(results / file)
    group = options.get("last-per")
    paired = stat.split(":", 1)[1] if stat.split(":", 1)[0] in _PAIRED and ":" in stat else None
    names = [column, *(f[0] for f in filters), *([paired] if paired else [])]
    for name in names + ([group] if group else []):
        if name not in header:
            raise AnnotationError(f"{file} has no column {name!r} (columns: {', '.join(header)})")
    rows = _select(all_rows, filters, group)
    combine = options.get("combine")
    if combine:
        values = _combined((header, all_rows), rows, filters, column, file, group, combine)
        if stat.split(":", 1)[0] in ("at-max", "at-min") and paired:
            # the paired column's value on the row where the combined value is extreme
            pick = max if stat.startswith("at-max") else min
            return _number_or_text(rows[pick(range(len(values)), key=values.__getitem__)][paired])
        return _reduce(values, stat, None)
    other = _column(rows, paired, file) if paired else None
    if stat.split(":", 1)[0] in ("value", "first", "last", "count", "at-max", "at-min"):
        # these pick a cell rather than compute with it: text cells are allowed
        values: list = [_number_or_text(r[column]) for r in rows]
        return _reduce(values, stat, other)
    return _reduce(_column(rows, column, file), stat, other)


def _number_or_text(cell: str) -> float | str:
    number = _as_float(cell)
    return cell if number is None else number


def _manifest_values(node: object, path: list[str]) -> list:
    if not path:
        return [node]
    head, rest = path[0], path[1:]
    if not isinstance(node, dict):
        raise AnnotationError(f"manifest has no key {head!r} here")
    if head == "*":
        return [v for key in node for v in _manifest_values(node[key], rest)]
    if head not in node:
        raise AnnotationError(f"manifest has no key {head!r}")
    return _manifest_values(node[head], rest)


def _evaluate_manifest(words: list[str], stat: str, results: Path) -> object:
    if len(words) != 1:
        raise AnnotationError("a manifest annotation needs one KEY.PATH")
    path = results / "manifest.json"
    if not path.is_file():
        raise AnnotationError(f"results file {path} not found")
    values = _manifest_values(json.loads(path.read_text(encoding="utf-8")), words[0].split("."))
    if len(values) == 1 and stat == "value":
        return values[0]
    return _reduce(values, stat, None)


def evaluate(annotation: str, results: Path) -> str:
    """The text an annotation stands for, recomputed from the results folder.

    Parameters
    ----------
    annotation : str
        The comment's content, e.g. ``"csv nf-fig5.csv mu_hat split=train stat=pearson:mu"``.
    results : Path
        Folder with the ``plkg reproduce`` CSVs and ``manifest.json``.

    Returns
    -------
    str
        The formatted value (``format(value * scale, fmt)``).
    """
    kind, *tokens = shlex.split(annotation)
    words, filters, options = _options(tokens)
    stat = options.get("stat", "value")
    if kind == "csv":
        value = _evaluate_csv(words, filters, stat, results, options)
    else:
        if filters or "combine" in options:
            names = ", ".join([f[0] for f in filters] + [c[1] for c in options.get("combine", [])])
            raise AnnotationError(f"a manifest annotation takes no filters ({names})")
        value = _evaluate_manifest(words, stat, results)
    fmt = options.get("fmt", "g")
    if isinstance(value, str):
        return format(value, fmt if fmt.endswith("s") else "s")
    scaled = float(value) * float(options.get("scale", "1"))
    if isinstance(value, int) and "scale" not in options and fmt == "g":
        return str(value)
    if fmt.endswith("d"):
        return format(round(scaled), fmt)
    # docs write exponents as 1.2e6 and 3e-16, not 1.2e+06
    return EXPONENT.sub(
        lambda m: "e" + m.group(1).replace("+", "") + m.group(2), format(scaled, fmt)
    )


def _found_text(raw: str) -> str:
    """The quoted value: a `code span` whole, else the number without a sentence's full stop."""
    return raw if raw.startswith("`") else NUMBER_TAIL.sub("", raw)


def _unquoted(found: str) -> str:
    return found[1:-1] if found.startswith("`") else found.replace("−", "-")


def scan(doc: Path, results: Path) -> list[Finding]:
    """Every annotated number of ``doc`` with the value the results give."""
    findings = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
        parsed = {m.start() for m in ANNOTATION.finditer(line)}
        for start in ANNOTATION_START.finditer(line):
            if start.start() not in parsed:
                text = line[start.start() : start.start() + 60]
                why = "not an annotation the grammar parses (no '>' inside; closed by '-->')"
                findings.append(Finding(doc, number, text, "", None, why))
        for match in ANNOTATION.finditer(line):
            found = _unquoted(_found_text(match.group(2)))
            try:
                expected = evaluate(match.group(1), results)
            except (AnnotationError, ValueError, ZeroDivisionError) as exc:
                findings.append(Finding(doc, number, match.group(1), found, None, str(exc)))
                continue
            findings.append(Finding(doc, number, match.group(1), found, expected))
    return findings


def rewritten(doc: Path, results: Path) -> tuple[str, int]:
    """``doc``'s text with every annotated number recomputed, and how many changed.

    Raises
    ------
    AnnotationError
        If an annotation cannot be evaluated.
    """
    changed = 0

    def replace(match: re.Match) -> str:
        nonlocal changed
        raw = match.group(2)
        found = _found_text(raw)
        tail = raw[len(found) :]
        expected = evaluate(match.group(1), results)
        if _unquoted(found) != expected:
            changed += 1
        if found.startswith("`"):
            expected = f"`{expected}`"
        elif found.startswith("−") and expected.startswith("-"):
            expected = "−" + expected[1:]  # keep the doc's minus sign style
        return f"<!-- {match.group(1)} -->{expected}{tail}"

    return ANNOTATION.sub(replace, doc.read_text(encoding="utf-8")), changed


def rewrite_all(docs: list[Path], results: Path) -> dict[Path, int]:
    """Rewrite the numbers of every doc in ``docs``; nothing is written unless all evaluate."""
    sys.path.insert(0, str(ROOT))
    from plkg.io.atomic import write_text_atomic

    new = {doc: rewritten(doc, results) for doc in docs}  # raises before any write
    for doc, (text, _) in new.items():
        if text != doc.read_text(encoding="utf-8"):
            write_text_atomic(doc, text)
    return {doc: changed for doc, (_, changed) in new.items()}


def rewrite(doc: Path, results: Path) -> int:
    """Rewrite one doc's annotated numbers in place; returns the count changed."""
    return rewrite_all([doc], results)[doc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if a number differs")
    mode.add_argument("--write", action="store_true", help="rewrite the numbers in place")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="results folder")
    parser.add_argument("--doc", type=Path, nargs="+", default=list(DEFAULT_DOCS), help="docs")
    args = parser.parse_args(argv)
    if args.write:
        try:
            for doc, changed in rewrite_all(args.doc, args.results).items():
                print(f"{doc}: {changed} number(s) rewritten")
        except AnnotationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    findings = [f for doc in args.doc for f in scan(doc, args.results)]
    bad = [f for f in findings if not f.ok]
    for finding in bad:
        print(finding.describe(), file=sys.stderr)
    print(f"{len(findings) - len(bad)}/{len(findings)} annotated numbers match {args.results}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
