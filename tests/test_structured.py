"""The json and yaml connectors: every shape of the issue, the real JSON files, bad input."""

from __future__ import annotations

import csv
import re
import shutil
import time
from pathlib import Path

import pytest

from okrsync import transforms as tf
from okrsync.config import Config
from okrsync.connector import Context, Cursor, Note, Record, Rejected, WriteBatch
from okrsync.connectors import line_grammar
from okrsync.connectors.spreadsheet import CsvConnector
from okrsync.connectors.structured import JsonConnector, YamlConnector, files_regex
from okrsync.errors import ConfigError, FatalError, MappingError
from okrsync.store import Store
from okrsync.sync import Hub

HERE = Path(__file__).parent / "fixtures"
SHAPES = HERE / "structured"
REAL = HERE / "real"


def read(path: str, mapping: str, base: Path = SHAPES, **options):
    cls = YamlConnector if path.endswith((".yaml", ".yml")) else JsonConnector
    conn = cls("src", {"path": path, "mapping": mapping, **options}, Context(base_dir=base))
    items = list(conn.read(None))
    assert isinstance(items[-1], Cursor)
    records = [i for i in items if isinstance(i, Record)]
    by_id = {(r.kind, r.external_id): r.fields for r in records}
    return records, by_id, [i for i in items if isinstance(i, Rejected)], [i for i in items if isinstance(i, Note)]


def kinds(records) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r.kind] = out.get(r.kind, 0) + 1
    return out


# ---------------------------------------------------------------- shapes


def test_nested_yaml_top_level_owner_year_period_from_key_scoped_ids_and_unsorted_check_ins():
    records, by_id, rejected, _ = read("nested.yaml", "nested.mapping.yaml")
    assert not rejected
    assert kinds(records) == {"objective": 3, "key_result": 3, "check_in": 3}
    # integer and string ids mixed: 1, "2", 3 are all text ids
    # labels kept as written; the canonical key beside them
    assert by_id[("objective", "1")]["period"] == "q1 2026" and by_id[("objective", "3")]["extra.period.src:key"] == "2026-Q2"
    assert by_id[("objective", "1")]["extra.period.src:key"] == "2026-Q1"
    # the owner at the top applies below, unless the record has its own
    assert by_id[("objective", "1")]["owner"] == "ana@example.com"
    assert by_id[("objective", "2")]["owner"] == "ben@example.com"
    assert by_id[("key_result", "2/KR1")]["owner"] == "ben@example.com"  # from its objective
    # KR1 repeats under both goals: scoped to the parent
    arr = by_id[("key_result", "1/KR1")]
    assert (arr["objective_id"], arr["unit"], arr["currency"]) == ("1", "currency", "USD")
    assert (arr["start"], arr["current"], arr["target"]) == (1_000_000.0, 1_400_000.0, 2_000_000.0)
    assert by_id[("key_result", "2/KR1")]["objective_id"] == "2"
    churn = by_id[("key_result", "1/KR2")]
    assert (churn["direction"], churn["unit"], churn["status"]) == ("decrease", "percent", "at_risk")
    # the check-ins come newest first in the file and are read oldest first
    check_ins = [r for r in records if r.kind == "check_in"]
    assert [c.fields["at"] for c in check_ins] == ["2026-01-15T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]
    assert [c.fields["value"] for c in check_ins] == [1.1, 1.2, 1.4]
    assert {c.fields["key_result_id"] for c in check_ins} == {"1/KR1"}
    assert check_ins[0].where == "nested.yaml: /goals_q1/0/key_results/0/progress/1"


def test_plain_string_arrays_are_krs_with_ids_by_position():
    records, by_id, rejected, _ = read("plain_strings.json", "plain_strings.mapping.yaml")
    assert not rejected and kinds(records) == {"objective": 2, "key_result": 3}
    assert by_id[("objective", "1")]["title"] == "Delight users"
    assert by_id[("key_result", "1/2")]["title"] == "Churn under 2%"
    assert by_id[("key_result", "2/1")] | {} == {**by_id[("key_result", "2/1")], "title": "99.9% uptime", "objective_id": "2"}


def test_a_filter_skips_records_of_another_type_and_reads_them_as_their_own_part():
    records, by_id, rejected, _ = read("mixed.json", "mixed.mapping.yaml")
    assert not rejected and kinds(records) == {"objective": 3, "team": 2}
    assert by_id[("objective", "OBJ-2")]["team"] == "growth"
    assert by_id[("team", "platform")]["name"] == "Platform"
    assert not any(k.startswith("extra.") for r in records for k in r.fields)  # extra: false


def test_a_folder_tree_names_objectives_and_krs_and_other_files_are_ignored():
    records, by_id, rejected, notes = read("tree", "tree.mapping.yaml")
    assert not rejected
    assert kinds(records) == {"objective": 2, "key_result": 3, "check_in": 4}  # O1 is in two files: read once
    assert by_id[("objective", "O1")] | {} == {**by_id[("objective", "O1")], "title": "Ship a faster platform",
                                               "team": "platform", "period": "2026-Q1"}
    assert by_id[("objective", "O7")]["period"] == "2026-Q2"
    latency = by_id[("key_result", "O1/KR1")]
    assert (latency["objective_id"], latency["direction"], latency["start"], latency["target"]) == ("O1", "decrease", 450.0, 200.0)
    assert not any(k.startswith("extra.") for k in latency)  # the objective's key is its objective's, not extra
    values = [r.fields["value"] for r in records if r.kind == "check_in" and r.fields["key_result_id"] == "O1/KR1"]
    assert values == [400.0, 320.0, 260.0]  # sorted by date, not file order
    assert [n.message for n in notes] == ["tree: 2 file(s) the mapping's files pattern "
                                          "'teams/{team}/{quarter}/{objective}-{kr}.json' does not name were ignored"]


def test_files_pattern_captures_named_parts():
    regex = files_regex("teams/{team}/{quarter}/{objective}-{kr}.json")
    assert regex.fullmatch("teams/platform/2026-Q1/O1-KR2.json").groupdict() == {
        "team": "platform", "quarter": "2026-Q1", "objective": "O1", "kr": "KR2"}
    assert regex.fullmatch("teams/platform/settings.json") is None
    assert files_regex("**/*.json").fullmatch("a/b/c.json") and files_regex("**/*.json").fullmatch("c.json")


def test_json_lines_read_each_line_and_a_broken_line_is_rejected_with_its_line():
    records, by_id, rejected, _ = read("okrs.jsonl", "okrs.jsonl.mapping.yaml")
    assert kinds(records) == {"objective": 1, "key_result": 2}
    assert by_id[("key_result", "K3")]["unit"] == "percent" and by_id[("key_result", "K1")]["direction"] == "decrease"
    assert [str(r) for r in rejected] == ["okrs.jsonl: line 4, column 81: malformed JSON: Expecting value; the line is skipped"]
    assert [r.where for r in records] == ["okrs.jsonl: line 1", "okrs.jsonl: line 2", "okrs.jsonl: line 5"]


# ---------------------------------------------------------------- real files


def test_real_work_stack_kr_ids_scoped_per_objective():
    records, by_id, rejected, _ = read("kr_ids_scoped_per_objective_work_stack.json", "structured_work_stack.yaml", REAL)
    assert not rejected and kinds(records) == {"objective": 5, "key_result": 10}
    assert {r.external_id for r in records if r.kind == "key_result"} == {f"O-{o}/KR-{k}" for o in range(1, 6) for k in (1, 2)}
    kr = by_id[("key_result", "O-3/KR-2")]
    assert (kr["title"], kr["current"], kr["target"], kr["unit"]) == ("Reduce unplanned work", 44.0, 100.0, "percent")
    assert kr["extra.src.target_text"] == "< 15%"
    objective = by_id[("objective", "O-5")]
    assert (objective["period"], objective["status"], objective["extra.src.updated_at"]) == ("2026-Q3", "on_track", "2026-08-29")


def test_real_portuguese_okrs_period_from_the_top_and_polarity():
    records, by_id, rejected, _ = read("pt_okrs_kpi_catalog_vertice/okrs_2026.json", "structured_vertice.yaml", REAL)
    assert not rejected and kinds(records) == {"objective": 4, "key_result": 12}
    assert {by_id[("objective", f"O{i}")]["period"] for i in range(1, 5)} == {"2026-Q3"}
    assert by_id[("objective", "O4")]["owner"] == "Diretoria Comercial + RH"
    assert by_id[("objective", "O2")]["extra.src.contrapeso"]["limite"] == 3.30  # the guardrail is kept
    decreasing = sorted(r.external_id for r in records if r.kind == "key_result" and r.fields["direction"] == "decrease")
    assert decreasing == ["KR1.3", "KR3.2", "KR4.2", "KR4.3"]  # "polaridade: menor"
    assert by_id[("key_result", "KR3.1")]["target"] == 0.9968
    assert by_id[("key_result", "KR4.3")]["extra.src.periodo_atual"] == ["2026-04-01", "2026-06-30"]
    assert by_id[("key_result", "KR2.2")]["extra.src.filtro"] == {"regiao_id": "NE"}


def test_real_federal_goals_json_api_shape():
    records, by_id, rejected, _ = read("us_federal_priority_goals_touchpoints/goals.json", "structured_federal_goals.yaml", REAL)
    assert not rejected and kinds(records) == {"objective": 97}
    assert len({r.fields["team"] for r in records}) == 23  # 23 agencies
    assert by_id[("objective", "1")]["team"] == "Department of Agriculture"
    assert sum(1 for r in records if r.fields["description"] is None) == 26 + 7  # null in 26, "" in 7
    tagged = {r.external_id: r.fields["extra.src.tags"] for r in records if r.fields.get("extra.src.tags")}
    assert tagged == {"91": ["ag4", " tag3", " tag2"], "94": ["pace"]}  # lists kept as they are, in extra
    assert all(not r.fields["title"].endswith(("\n", " ")) for r in records)


def test_real_corrupt_federal_objectives_fail_with_line_and_column(tmp_path):
    conn = JsonConnector("src", {"path": "us_federal_priority_goals_touchpoints/objectives.json",
                                 "mapping": "structured_federal_goals.yaml"}, Context(base_dir=REAL))
    with pytest.raises(FatalError, match=r"objectives.json: line 1, column 761: malformed JSON: Invalid control character"):
        list(conn.read(None))


# ---------------------------------------------------------------- bad input


def test_a_record_of_the_wrong_shape_is_rejected_alone_and_a_bad_value_kept_as_text_with_its_pointer():
    """Tolerant values (issue 15 item 2) in JSON too: the KR with target "lots" imports, its
    target kept as text in extra with the JSON pointer; ``strict_values: true`` rejects it."""
    records, by_id, rejected, notes = read("bad_values.json", "bad_values.mapping.yaml")
    assert sorted(by_id) == [("key_result", "a1"), ("key_result", "c1"), ("key_result", "c2"), ("objective", "A"),
                             ("objective", "C")]
    assert (by_id[("key_result", "c1")].get("target"), by_id[("key_result", "c1")]["extra.src.target"]) == (None, "lots")
    assert ("bad_values.json: /objectives/2/key_results/0: key_result c1: extra: column 'target': 'lots' kept as text in extra (at "
            "bad_values.json: /objectives/2/key_results/0/target: expected a number like \"7\", \"45%\" or \"$1,200\", "
            "got 'lots')") in [n.message for n in notes]
    assert [str(r) for r in rejected] == [
        "bad_values.json: /objectives/1: expected an object (the mapping reads keys id, title), got a number; the record is skipped",
        "bad_values.json: /objectives/0: the mapping's path '$.initiatives[*]' for initiative matched nothing; check the key "
        f"names in {SHAPES / 'bad_values.mapping.yaml'}",
    ]


def test_strict_values_in_a_json_mapping_rejects_a_bad_value_as_before(tmp_path):
    shutil.copy(SHAPES / "bad_values.json", tmp_path)
    (tmp_path / "strict.yaml").write_text((SHAPES / "bad_values.mapping.yaml").read_text() + "strict_values: true\n")
    records, by_id, rejected, _ = read("bad_values.json", "strict.yaml", base=tmp_path)
    assert ("key_result", "c1") not in by_id and len(by_id) == 4
    assert ("bad_values.json: /objectives/2/key_results/0/target: target: expected a number like \"7\", \"45%\" or "
            "\"$1,200\", got 'lots'") in [str(r) for r in rejected]


def test_malformed_yaml_names_line_and_column():
    conn = YamlConnector("src", {"path": "malformed.yaml", "mapping": "nested.mapping.yaml"}, Context(base_dir=SHAPES))
    with pytest.raises(FatalError, match=r"malformed.yaml: line 5, column 1: malformed YAML: found unexpected end of stream "
                                         r"\(while scanning a quoted scalar that starts at line 3, column 12\)"):
        list(conn.read(None))


def test_billion_laughs_fails_fast():
    conn = YamlConnector("src", {"path": "laughs.yaml", "mapping": "nested.mapping.yaml"}, Context(base_dir=SHAPES))
    started = time.perf_counter()
    with pytest.raises(FatalError, match=r"laughs.yaml: line 7: aliases expand to over 5,000,000 values"):
        list(conn.read(None))
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]\n", "recursive YAML is refused"),
    ("a: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
    ("x: " + "[" * 70 + "]" * 70 + "\n", "nested deeper than 64 levels"),
])
def test_yaml_safety_limits(tmp_path, text, message):
    (tmp_path / "evil.yaml").write_text(text)
    shutil.copy(SHAPES / "nested.mapping.yaml", tmp_path)
    conn = YamlConnector("src", {"path": "evil.yaml", "mapping": "nested.mapping.yaml"}, Context(base_dir=tmp_path))
    with pytest.raises(FatalError, match=message):
        list(conn.read(None))


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    (tmp_path / "big.json").write_text("[" + "1," * 600 + "1]")
    shutil.copy(SHAPES / "plain_strings.mapping.yaml", tmp_path)
    conn = JsonConnector("src", {"path": "big.json", "mapping": "plain_strings.mapping.yaml", "max_bytes": 1000},
                         Context(base_dir=tmp_path))
    with pytest.raises(FatalError, match="1,203 bytes is over the 1,000-byte limit"):
        list(conn.read(None))


@pytest.mark.parametrize("mapping, message", [
    ("records: {objective: {path: '$.objectives[]', fields: {title: t}}}", r"is not a JSONPath query .*write \[\*\] for every item"),
    ("records: {goal: {path: '$.x[*]'}}", "unknown entity 'goal'"),
    ("records: {objective: {path: '$.x[*]', scope: global}}", "scope: use 'scope: parent'"),
    ("records: {objective: {path: '$.x[*]', fields: {title: {from: file}}}}", "'from: file' needs 'path:'"),
    ("record: {}", "with a 'records' key"),
    ("records: {objective: {path: '$.x[*]', fields: {owner: {from: grandparent, path: owner}}}}",
     "from: 'grandparent' is neither one of file, key, parent, position, record, root nor a part of this mapping"),
])
def test_mapping_errors_say_where(tmp_path, mapping, message):
    (tmp_path / "m.yaml").write_text(mapping)
    (tmp_path / "d.json").write_text("{}")
    with pytest.raises(MappingError, match=message):
        JsonConnector("src", {"path": "d.json", "mapping": "m.yaml"}, Context(base_dir=tmp_path))


def test_type_json_on_a_yaml_file_says_which_type(tmp_path):
    with pytest.raises(ConfigError, match="use type: yaml"):
        JsonConnector("src", {"path": "nested.yaml", "mapping": "nested.mapping.yaml"}, Context(base_dir=SHAPES))


# ---------------------------------------------------------------- with the hub


def test_hub_pulls_a_json_file_and_never_plans_a_push_to_it(tmp_path):
    shutil.copy(SHAPES / "nested.yaml", tmp_path)
    shutil.copy(SHAPES / "nested.mapping.yaml", tmp_path)
    config = Config.of(tmp_path, {"goals": {"type": "yaml", "path": "nested.yaml", "mapping": "nested.mapping.yaml"},
                                  "sheet": {"type": "csv", "path": "okrs.csv"}})
    store = Store(None)
    hub = Hub(config, store, {"yaml": YamlConnector, "csv": CsvConnector})
    run = store.begin_run("test")
    plans = hub.run(["goals", "sheet"], run)
    pulled = plans[0]
    assert pulled.counters.created == 9 and not pulled.rejected
    assert store.count("objective") == 3 and store.count("key_result") == 3
    stored = {fields["title"]: fields for _, _, fields in store.entities("key_result")}
    assert stored["Reach ARR"]["target"] == 2_000_000.0 and stored["Reach ARR"]["currency"] == "USD"
    assert stored["Cut churn"]["direction"] == "decrease" and stored["Cut churn"]["status"] == "at_risk"
    assert sorted(f["value"] for _, _, f in store.entities("check_in")) == [1.1, 1.2, 1.4]
    assert "Reach ARR" in (tmp_path / "okrs.csv").read_text()
    assert (tmp_path / "okrs.csv").exists()
    push_goals = [p for p in plans if p.endpoint == "goals" and p.direction == "push"][0]
    assert not push_goals.changes and not push_goals.batch
    before = (tmp_path / "nested.yaml").read_bytes()
    # an edit made in the sheet goes nowhere near the YAML file
    text = (tmp_path / "okrs.csv").read_text().replace("Reach ARR", "Reach ARR fast")
    (tmp_path / "okrs.csv").write_text(text)
    plans = hub.run(["sheet", "goals"], store.begin_run("test"))
    assert not [p for p in plans if p.endpoint == "goals" and p.direction == "push"][0].changes
    assert (tmp_path / "nested.yaml").read_bytes() == before
    again = hub.plan_pull("goals")  # unchanged file: its fingerprint says so without reading it
    assert again.counters.read == 0


# ---------------------------------------------------------------- writing back


def _edit_csv(path: Path, edit) -> None:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    rows = edit(rows)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(rows)


def test_an_invertible_mapping_is_written_back_in_the_same_shape_and_key_order(tmp_path):
    for name in ("writable.yaml", "writable.mapping.yaml"):
        shutil.copy(SHAPES / name, tmp_path)
    config = Config.of(tmp_path, {"goals": {"type": "yaml", "path": "writable.yaml", "mapping": "writable.mapping.yaml"},
                                  "sheet": {"type": "csv", "path": "okrs.csv"}})
    store = Store(None)
    hub = Hub(config, store, {"yaml": YamlConnector, "csv": CsvConnector})
    plans = hub.run(["goals", "sheet"], store.begin_run("test"))
    assert plans[0].counters.created == 5 and not any(p.rejected for p in plans)
    original = (tmp_path / "writable.yaml").read_text()

    def edit(rows):
        for row in rows:
            if row["Key result"] == "First reply under 1 h":
                row["Current"] = "2"
        new = dict(rows[-1], **{"Key result ID": "", "Key result": "Team lunch monthly", "Start": "0", "Current": "",
                                "Target": "12"})
        return [r for r in rows if r["Key result"] != "Customer satisfaction"] + [new]
    _edit_csv(tmp_path / "okrs.csv", edit)
    plans = hub.run(["sheet", "goals"], store.begin_run("test"))
    push = next(p for p in plans if p.endpoint == "goals" and p.direction == "push")
    assert (push.counters.created, push.counters.updated, push.counters.deleted) == (1, 1, 1) and not push.rejected
    expected = original.replace("        current: 3\n", "        current: 2\n")
    start = expected.index("      - id: KR2")
    expected = expected[:start] + expected[expected.index("  - id: O2"):]
    # a new KR gets the hub's id (the sheet had none), appended to its objective's list
    expected += "      - id: NEW\n        title: Team lunch monthly\n        start: 0\n        target: 12\n"
    assert re.sub(r"id: kr_[0-9a-f]{12}\n", "id: NEW\n", (tmp_path / "writable.yaml").read_text()) == expected
    # read back: the same records, nothing to do
    assert not any(p.changes for p in hub.run(["goals", "sheet"], store.begin_run("test")))


def test_a_mapping_that_cannot_be_inverted_makes_the_endpoint_read_only():
    for path, mapping, reason in [
        ("nested.yaml", "nested.mapping.yaml", "objective's path '$.*[*]' is not a plain $.key[*]"),
        ("plain_strings.json", "plain_strings.mapping.yaml", "objective has no id key (ids from positions or other sources)"),
        ("tree", "tree.mapping.yaml", "it reads many files (files:)"),
        ("okrs.jsonl", "okrs.jsonl.mapping.yaml", "JSON Lines files are read only"),
    ]:
        cls = YamlConnector if path.endswith(".yaml") else JsonConnector
        conn = cls("src", {"path": path, "mapping": mapping}, Context(base_dir=SHAPES))
        assert conn.read_only == reason and "title" in conn.fields("key_result")
        assert "key_result" in conn.capabilities.read_only and "objective" in conn.capabilities.read_only
    writable = YamlConnector("src", {"path": "writable.yaml", "mapping": "writable.mapping.yaml"}, Context(base_dir=SHAPES))
    assert writable.read_only is None and writable.capabilities.read_only == ()
    assert writable.fields("key_result") == {"objective_id", "title", "start", "current", "target", "status", "unit",
                                             "direction", "currency", "extra.src"}
    assert writable.fields("initiative") == set()  # the mapping reads none: the hub never sends any


# ---------------------------------------------------------------- text with a line grammar


def test_a_text_blob_is_split_by_a_line_grammar_with_links_as_lists_and_ranges():
    conn = JsonConnector("src", {"path": "text_blob.json", "mapping": "text_blob.mapping.yaml"}, Context(base_dir=SHAPES))
    items = list(conn.read(None))
    records = [i for i in items if isinstance(i, Record)]
    by_id = {(r.kind, r.external_id): r.fields for r in records}
    assert kinds(records) == {"objective": 3, "key_result": 5, "alignment": 2, "initiative": 2}
    assert by_id[("key_result", "1.1")] | {} == {**by_id[("key_result", "1.1")], "objective_id": "1",
                                                 "title": "激活率从 40% 提升到 55%", "target": 55.0, "unit": "percent"}
    assert by_id[("key_result", "2.3")]["objective_id"] == "2"
    # many-to-many where the model has one: an objective aligned to two objectives
    assert {(f["child_id"], f["parent_id"]) for (k, _), f in by_id.items() if k == "alignment"} == {("3", "1"), ("3", "2")}
    # an initiative serves one KR in the model: the first, with every link kept and said
    assert by_id[("initiative", "B")]["key_result_id"] == "2.1"
    assert by_id[("initiative", "B")]["extra.src.key_results"] == ["2.1", "2.2", "2.3"]  # the range KR2.1–2.3
    assert by_id[("initiative", "A")]["extra.src.key_results"] == ["1.1", "1.2"]  # the list KR1.1、KR1.2
    notes = [n.message for n in items if isinstance(n, Note)]
    assert notes[1] == ("text_blob.json: /okr line 11: initiative B serves 3 key results (2.1, 2.2, 2.3); the model "
                        "holds one per initiative (the first), all are kept in extra.src.key_results")
    assert [str(r) for r in items if isinstance(r, Rejected)] == [
        "text_blob.json: /okr line 13: matches no rule of the grammar (objective, key_result, initiative): '这一行不合规则'",
        "text_blob.json: /okr line 12: links to KR3.1, which is no key result of this text",
    ]
    assert conn.read_only == "okrs reads records from text with a line grammar"


@pytest.mark.parametrize("text, links", [
    ("KR1.2, KR1.4", ["KR1.2", "KR1.4"]),
    ("KR2.1–2.3", ["KR2.1", "KR2.2", "KR2.3"]),
    ("KR2.1-3", ["KR2.1", "KR2.2", "KR2.3"]),
    ("KR2.1〜KR2.3；KR4.1", ["KR2.1", "KR2.2", "KR2.3", "KR4.1"]),
    ("ＫＲ１．１、ＫＲ１．２", ["KR1.1", "KR1.2"]),
    ("O1 and O3", ["O1", "O3"]),
])
def test_parse_links(text, links):
    assert line_grammar.parse_links(text) == links


@pytest.mark.parametrize("text, message", [
    ("KR2.1–3.3", "a range counts up the last number only"),
    ("KR1–500", "at most 100"),
    ("KR2.3–2.1", "from a lower number to a higher one"),
    ("see above", "is not an id such as KR1.2"),
])
def test_parse_links_refuses_what_it_cannot_read(text, message):
    with pytest.raises(ValueError, match=message):
        line_grammar.parse_links(text)


@pytest.mark.parametrize("original", [
    '{\n    "objectives": [\n        {\n            "id": "O1",\n            "title": "Old",\n'
    '            "key_results": []\n        }\n    ]\n}\n',  # 4 spaces
    '{\n\t"objectives": [\n\t\t{\n\t\t\t"id": "O1",\n\t\t\t"title": "Old",\n\t\t\t"key_results": []\n\t\t}\n\t]\n}',  # tabs
    '{"objectives":[{"id":"O1","title":"Old","key_results":[]}]}',  # one line, no newline at the end
])
def test_a_json_file_keeps_its_indentation_when_written(tmp_path, original):
    (tmp_path / "okrs.json").write_text(original)
    (tmp_path / "m.yaml").write_text((SHAPES / "writable.mapping.yaml").read_text())
    conn = JsonConnector("src", {"path": "okrs.json", "mapping": "m.yaml"}, Context(base_dir=tmp_path))
    [objective] = [r for r in conn.read(None) if isinstance(r, Record)]
    conn.write(WriteBatch(updates=[Record("objective", "O1", {**objective.fields, "title": "New"})]))
    assert (tmp_path / "okrs.json").read_text() == original.replace("Old", "New")


def test_yaml_dates_stay_bare_when_written(tmp_path):
    (tmp_path / "g.yaml").write_text("objectives:\n  - id: O1\n    title: Old\n    due: 2026-09-30\n")
    (tmp_path / "m.yaml").write_text("records: {objective: {path: '$.objectives[*]', id: id, fields: {title: title, due: due}}}")
    conn = YamlConnector("src", {"path": "g.yaml", "mapping": "m.yaml"}, Context(base_dir=tmp_path))
    [objective] = [r for r in conn.read(None) if isinstance(r, Record)]
    assert objective.fields["due"] == "2026-09-30"
    conn.write(WriteBatch(updates=[Record("objective", "O1", {**objective.fields, "title": "New"})]))
    assert (tmp_path / "g.yaml").read_text() == "objectives:\n  - id: O1\n    title: New\n    due: 2026-09-30\n"


def test_a_period_from_a_month_range_field_of_the_object_holding_the_records():
    records, by_id, rejected, _ = read("month_range.json", "month_range.mapping.yaml")
    assert kinds(records) == {"objective": 3, "key_result": 3}
    # two months are no quarter: kept as the label written, without dates, never a rejection (issue 15)
    assert [(r.fields["title"], r.fields["period"], r.fields["team"], r.fields["owner"]) for r in records
            if r.kind == "objective"] == [("Answer faster", "Jul–Sep 2026", "Support", "cx-lead@example.com"),
                                          ("Keep customers", "2026-10..2026-12", "Success", "cx-lead@example.com"),
                                          ("Tidy runbooks", "Jul–Aug 2026", "Ops", "cx-lead@example.com")]
    assert by_id[("key_result", "2/1")] | {} == {**by_id[("key_result", "2/1")], "start": 4.0, "target": 2.0,
                                                 "unit": "percent", "direction": "decrease"}
    # kpi/from/to are the KR's; the only extras are the recognised periods' facts
    assert {k for r in records for k in r.fields if k.startswith("extra.")} == {
        "extra.period.src:label", "extra.period.src:key", "extra.period.src:start", "extra.period.src:end"}
    assert [(r.fields.get("extra.period.src:key"), r.fields.get("extra.period.src:end")) for r in records if r.kind == "objective"] == [
        ("2026-Q3", "2026-09-30"), ("2026-Q4", "2026-12-31"), (None, None)]
    assert rejected == []


@pytest.mark.parametrize("text, label", [
    ("Jul–Sep 2026", "2026-Q3"), ("July - September 2026", "2026-Q3"), ("2026-07..2026-09", "2026-Q3"),
    ("Jan - Jun 2026", "2026-H1"), ("Jan–Dec 2026", "2026"), ("Q3 2026", None), ("", None),
])
def test_parse_month_range(text, label):
    assert tf.parse_month_range(text) == label


def test_a_misspelt_endpoint_option_is_refused():
    with pytest.raises(ConfigError, match="unknown option 'max_byte'; did you mean 'max_bytes'"):
        JsonConnector("src", {"path": "mixed.json", "mapping": "mixed.mapping.yaml", "max_byte": 10}, Context(base_dir=SHAPES))
