"""Row fingerprints (connectors/row_prints.py): a changed sheet maps only its changed blocks
of rows, and what the hub makes of it is what a full read would have made."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from okrsync.config import Config
from okrsync.connectors.spreadsheet import CsvConnector, XlsxConnector
from okrsync.store import Store
from okrsync.sync import Hub

HEADER = ["Objective ID", "Objective", "Key result ID", "Key result", "Owner", "Start", "Current", "Target"]
OBJECTIVES, KRS = 120, 4


def rows(objectives: int = OBJECTIVES) -> list[list[str]]:
    return [[f"O{o}", f"Objective {o}", f"KR{o}.{k}", f"Key result {o}.{k}", f"p{o}@example.com", "0", str(k), "10"]
            for o in range(objectives) for k in range(KRS)]


def save(path: Path, body: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([HEADER, *body])


def hub_for(tmp_path: Path, layout: str = "flat") -> Hub:
    config = Config.of(tmp_path, {"sheet": {"type": "csv", "path": "okrs.csv", "layout": layout}})
    return Hub(config, Store(None), {"csv": CsvConnector, "xlsx": XlsxConnector})


def pull(hub: Hub):
    run = hub.store.begin_run("test")
    plan = hub.plan_pull("sheet")
    hub.apply_pull(plan, run)
    hub.store.finish_run(run, "ok", {})
    return plan, hub.connector("sheet").last_read


def pulled(tmp_path: Path, body: list[list[str]], layout: str = "flat") -> Hub:
    """A hub that has pulled the sheet once (a full read)."""
    save(tmp_path / "okrs.csv", body)
    hub = hub_for(tmp_path, layout)
    pull(hub)
    return hub


def full_read_agrees(hub: Hub) -> None:
    """A full read of the file (cursor cleared) finds the store holding exactly what it reads."""
    run = hub.store.begin_run("check")
    hub.store.set_cursor("sheet", "records", None, run)
    plan = hub.plan_pull("sheet")
    assert not plan.changes and not plan.rejected and not plan.unlinks
    assert plan.counters.unchanged == plan.counters.read == len(hub.store.links("sheet"))


def test_one_edited_row_maps_only_its_objectives_rows(tmp_path):
    body = rows()
    save(tmp_path / "okrs.csv", body)
    hub = hub_for(tmp_path)
    plan, prints = pull(hub)
    assert plan.counters.created == OBJECTIVES * (KRS + 1)
    assert prints.rows_mapped == OBJECTIVES * KRS and not prints.partial

    body[KRS * 60 + 2][6] = "7"  # KR60.2's current value
    save(tmp_path / "okrs.csv", body)
    plan, prints = pull(hub)
    assert prints.partial and prints.rows_read == OBJECTIVES * KRS
    assert prints.rows_mapped == KRS  # the edited row and the other rows of its objective, nothing else
    assert plan.counters.read == KRS + 1 and plan.counters.updated == 1 and plan.counters.deleted == 0
    [change] = plan.changes
    assert change.external_id == "KR60.2" and change.fields["current"] == 7.0
    full_read_agrees(hub)


def test_missing_and_new_rows_are_seen(tmp_path):
    body = rows()
    hub = pulled(tmp_path, body)
    del body[KRS * 10 + 1]  # KR10.1 deleted
    body = [r for r in body if r[0] != "O20"]  # objective O20 and its 4 KRs deleted
    at = next(i for i, r in enumerate(body) if r[0] == "O30")
    body.insert(at, ["O30", "Objective 30", "KR30.9", "A new one", "x@example.com", "0", "1", "5"])
    save(tmp_path / "okrs.csv", body)
    plan, prints = pull(hub)
    assert prints.partial
    assert prints.rows_mapped == (KRS - 1) + (KRS + 1)  # the two blocks that changed; O20's is just gone
    assert plan.counters.deleted == 1 + 1 + KRS and plan.counters.created == 1 and plan.counters.updated == 0
    assert sorted(c.external_id for c in plan.changes if c.op == "delete") == sorted(
        ["KR10.1", "O20", *(f"KR20.{k}" for k in range(KRS))])
    full_read_agrees(hub)


def test_a_record_in_two_blocks_falls_back_to_a_full_read(tmp_path):
    """A KR id repeated in another objective's rows: the full read rejects it, as before."""
    body = rows()
    hub = pulled(tmp_path, body)
    body[KRS * 50][2] = "KR3.1"  # KR50.0 now claims KR3.1's id
    save(tmp_path / "okrs.csv", body)
    plan, prints = pull(hub)
    assert not prints.partial and prints.rows_mapped == OBJECTIVES * KRS
    assert [r.reason for r in plan.rejected] == ["duplicate key result 'KR3.1' (first at okrs.csv row 15)"]
    # rejected rows keep no row state: the next read is a full one, and says it again
    body[0][6] = "9"
    save(tmp_path / "okrs.csv", body)
    plan, prints = pull(hub)
    assert not prints.partial and len(plan.rejected) == 1


def test_objective_rows_split_apart(tmp_path):
    """An objective whose rows are not together is in two blocks: mapped together they read as
    a full read does; one changed and one not, the read falls back to a full one."""
    body = rows()
    hub = pulled(tmp_path, body)
    body.append(body.pop(KRS * 7))  # one of O7's rows moved to the end: O7 now in two blocks
    save(tmp_path / "okrs.csv", body)
    plan, prints = pull(hub)
    assert prints.partial and prints.rows_mapped == KRS and not plan.changes and not plan.rejected
    body[KRS * 7][6] = "5"  # another of O7's KRs (its first block), the moved row not changed
    save(tmp_path / "okrs.csv", body)
    plan, prints = pull(hub)
    assert not prints.partial and prints.rows_mapped == OBJECTIVES * KRS
    assert [(c.external_id, sorted(c.diff)) for c in plan.changes] == [("KR7.1", ["current"])]
    full_read_agrees(hub)


def test_hierarchical_edit_maps_one_block(tmp_path):
    body = []
    for o in range(OBJECTIVES):
        body.append([f"O{o}", f"Objective {o}", "", "", "", "", "", ""])
        body += [["", "", f"KR{o}.{k}", f"Key result {o}.{k}", "", "0", str(k), "10"] for k in range(KRS)]
    save(tmp_path / "okrs.csv", body)
    hub = hub_for(tmp_path, "hierarchical")
    plan, _ = pull(hub)
    assert plan.counters.created == OBJECTIVES * (KRS + 1)
    body[(KRS + 1) * 33 + 3][7] = "12"  # a KR row of O33, objective cells blank
    body[(KRS + 1) * 90][1] = "Objective ninety"  # O90's own row
    save(tmp_path / "okrs.csv", body)
    plan, prints = pull(hub)
    assert prints.partial and prints.rows_mapped == 2 * (KRS + 1)
    assert sorted((c.external_id, sorted(c.diff)) for c in plan.changes) == [("KR33.2", ["target"]), ("O90", ["title"])]
    full_read_agrees(hub)


@pytest.mark.parametrize("change", ["header", "mapping"])
def test_another_header_or_mapping_maps_everything(tmp_path, change):
    body = rows(20)
    hub = pulled(tmp_path, body)
    if change == "header":
        HEADER_RENAMED = [*HEADER[:4], "Owner e-mail", *HEADER[5:]]
        with open(tmp_path / "okrs.csv", "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([HEADER_RENAMED, *body])
    else:
        hub.connector("sheet").options["percent_scale"] = "percent"  # another option: another shape
        body[0][6] = "2"
        save(tmp_path / "okrs.csv", body)
    plan, prints = pull(hub)
    assert not prints.partial and prints.rows_mapped == 20 * KRS


REAL = Path(__file__).resolve().parent / "fixtures" / "real"


def test_a_real_sheet_edited_maps_one_objectives_rows(tmp_path):
    """The product-ops sandbox export (2 objectives, 4 KRs, percent words): one KR edited."""
    lines = (REAL / "flat_kr_rows_percent_words_product_ops_sandbox.csv").read_text().splitlines(keepends=True)
    (tmp_path / "okrs.csv").write_text("".join(lines))
    hub = hub_for(tmp_path)
    plan, prints = pull(hub)
    assert plan.counters.created == 6 and prints.rows_mapped == 4
    lines[2] = lines[2].replace("Check In Failed Count,2,2,1", "Check In Failed Count,2,1.5,1")
    (tmp_path / "okrs.csv").write_text("".join(lines))
    plan, prints = pull(hub)
    assert prints.partial and prints.rows_mapped == 2  # O-001's two rows
    assert [(c.external_id, c.diff) for c in plan.changes] == [("KR-002", {"current": (2.0, 1.5)})]
    full_read_agrees(hub)


def test_a_real_sheet_with_a_rejected_row_says_it_on_every_read(tmp_path):
    """The product-ops export with a KR id typed twice: the rejection keeps no row state, so
    the next read of the edited file is a full one and says it again."""
    lines = (REAL / "flat_kr_rows_percent_words_product_ops_sandbox.csv").read_text().splitlines(keepends=True)
    lines[4] = lines[4].replace("KR-004", "KR-001")
    (tmp_path / "okrs.csv").write_text("".join(lines))
    hub = hub_for(tmp_path)
    first, _ = pull(hub)
    lines[3] = lines[3].replace("Rate,40 percent,40 percent", "Rate,40 percent,45 percent")
    (tmp_path / "okrs.csv").write_text("".join(lines))
    again, prints = pull(hub)
    assert not prints.partial and prints.rows_mapped == 4
    assert [r.reason for r in again.rejected] == [r.reason for r in first.rejected] == [
        "duplicate key result 'KR-001' (first at okrs.csv row 2)"]
    assert [(c.external_id, c.diff) for c in again.changes] == [("KR-003", {"current": (40.0, 45.0)})]
