"""YAML reading with duplicate keys refused (plkg.io.yaml_file)."""

import pytest
import yaml

from plkg.errors import PlkgInputError
from plkg.io.yaml_file import parse_yaml, read_yaml

pytestmark = pytest.mark.surface


def test_plain_documents_equal_safe_load():
    text = "a: 1\nb: {c: [1, 2.5, x]}\nd: null\n"
    assert parse_yaml(text, source="s") == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text, key, lines",
    [
        ("pa_dbm: 0\nseed: 1\npa_dbm: 30\n", "pa_dbm", (1, 3)),
        ("base:\n  n: 1\n  n: 2\n", "n", (2, 3)),
        ("a: {c: 1, c: 2}\n", "c", (1, 1)),
        ("- {x: 1}\n- {y: 1, y: 2}\n", "y", (2, 2)),
    ],
)
def test_duplicate_key_is_refused_with_its_lines(text, key, lines):
    with pytest.raises(PlkgInputError) as info:
        parse_yaml(text, source="sweep spec 'a.yaml'")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("sweep spec 'a.yaml'")
    assert f"key {key!r} is given twice (lines {lines[0]} and {lines[1]})" in message


def test_a_key_overriding_a_merged_one_is_yaml_not_a_duplicate():
    text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  x: 3\n"
    assert parse_yaml(text, source="s") == yaml.safe_load(text)
    assert parse_yaml(text, source="s")["other"] == {"x": 3, "y": 2}


def test_unsafe_tags_are_refused():
    with pytest.raises(PlkgInputError, match="malformed YAML"):
        parse_yaml("a: !!python/object/apply:os.system ['true']\n", source="s")


def test_read_yaml_names_the_file(tmp_path):
    bad = tmp_path / "spec.yaml"
    bad.write_bytes(b"a: 1\n\xff\xfe\n")
    with pytest.raises(PlkgInputError, match=r"scenario file '.*spec\.yaml' is not UTF-8"):
        read_yaml(bad, what="scenario file")
    with pytest.raises(PlkgInputError, match="is not a regular file"):
        read_yaml(tmp_path, what="scenario file")
    with pytest.raises(FileNotFoundError, match="scenario file does not exist"):
        read_yaml(tmp_path / "missing.yaml", what="scenario file")
    good = tmp_path / "ok.yaml"
    good.write_text("a: 1\n", encoding="utf-8")
    assert read_yaml(good, what="scenario file") == {"a": 1}
    good.write_text("", encoding="utf-8")
    assert read_yaml(good, what="scenario file") is None
