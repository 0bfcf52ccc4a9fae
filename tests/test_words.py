"""Words in many languages (issue 15 item 3): dates with month names, vocabularies, confidence
words, list-wrapped and trailing-dot numbers."""

import datetime as dt

import pytest

from okrsync import transforms as tf
from okrsync.mapping import Mapping, parse_measure
from tests.helpers.sheets import connector, read, write_csv


@pytest.mark.parametrize("text, order, expected", [
    ("15 de marzo de 2025", "dmy", dt.date(2025, 3, 15)),    # Spanish
    ("31 de dezembro de 2025", "dmy", dt.date(2025, 12, 31)),  # Portuguese
    ("3. März 2025", "dmy", dt.date(2025, 3, 3)),            # German
    ("1er avril 2025", "dmy", dt.date(2025, 4, 1)),          # French
    ("30 septiembre 2025", "dmy", dt.date(2025, 9, 30)),
    ("diciembre 31, 2025", "mdy", dt.date(2025, 12, 31)),    # month first
    ("31 Dec 2025", "ymd", dt.date(2025, 12, 31)),           # English, the hand-written fast path
])
def test_dates_with_month_names_in_five_languages(text, order, expected):
    assert tf.parse_date(text, order=order) == expected


@pytest.mark.parametrize("text", ["dos meses", "yearly", "to be defined", "a definir", "in two months",
                                  "tomorrow", "marzo 2025", "Jan–Mar 2025", "15/03/2025 - 30/04/2025"])
def test_vague_values_and_ranges_are_not_dates(text):
    with pytest.raises(tf.TransformError, match="expected a date"):
        tf.parse_date(text, order="dmy")


@pytest.mark.parametrize("text, value, unit", [("[5]", 5.0, None), ("[ 45% ]", 45.0, "percent"), ("7.", 7.0, None),
                                                ("45%.", 45.0, "percent"), ("1,234.", 1234.0, None)])
def test_list_wrapped_and_trailing_dot_numbers(text, value, unit):
    assert parse_measure(text, {}) == parse_measure(text, {}).__class__(value, unit)
    if unit is None:
        assert tf.parse_number(text) == value


def test_two_values_in_brackets_are_not_a_number():
    with pytest.raises(tf.TransformError):
        tf.parse_number("[1, 2]")


@pytest.mark.parametrize("field, words, canonical", [
    ("status", ["En curso", "em andamento", "auf Kurs", "en bonne voie"], "on_track"),
    ("status", ["en riesgo", "em risco", "gefährdet", "en risque"], "at_risk"),
    ("status", ["completado", "concluído", "erledigt", "terminé"], "done"),
    ("direction", ["reducir", "reduzir", "senken", "réduire"], "decrease"),
    ("unit", ["porcentaje", "porcentagem", "Prozent", "pourcentage"], "percent"),
    ("type", ["aspiracional", "ambitioniert", "ambitieux"], "aspirational"),
])
def test_shipped_vocabularies_hold_common_non_english_words(field, words, canonical):
    m = Mapping.load("spreadsheet")
    assert [m.parse_value("key_result", field, None, w) for w in words] == [canonical] * len(words)


def test_confidence_words_map_to_a_scale_and_a_mapping_can_change_them(tmp_path):
    m = Mapping.load("spreadsheet")
    assert [m.parse_value("key_result", "confidence", None, w) for w in ("High", "alta", "mittel", "faible", "0.7")] == \
        [0.85, 0.85, 0.55, 0.2, 0.7]
    (tmp_path / "ten.yaml").write_text("extends: spreadsheet\nvocabularies:\n  confidence: {'8': [High, Hoch]}\n"
                                       "  status: {on_track: [Va bien]}\n")
    own = Mapping.load(tmp_path / "ten.yaml")
    assert own.parse_value("key_result", "confidence", None, "hoch") == 8.0
    assert own.parse_value("key_result", "status", None, "va bien") == "on_track"
    # the words it moved leave 0.85; the other words of 0.85 (alta, élevée …) keep it
    with pytest.raises(tf.TransformError, match='expected a confidence number or one of "alta", "Medium", "Low", "High"'):
        own.parse_value("key_result", "confidence", None, "lots")


def test_a_spanish_sheet_imports_every_row(tmp_path):
    write_csv(tmp_path / "okrs.csv", [
        ["Objetivo", "Key result", "Estado", "Unidad", "Inicio", "Meta", "Confianza", "Fecha límite"],
        ["Crecer", "Clientes", "En curso", "número", "[10]", "20.", "alta", "15 de marzo de 2026"],
        ["Crecer", "Churn", "en riesgo", "porcentaje", "5", "3", "baja", "dos meses"],
    ])
    (tmp_path / "es.yaml").write_text("extends: spreadsheet\noptions: {date_order: dmy}\nentities:\n"
                                      "  objective: {title: [Objetivo]}\n"
                                      "  key_result: {status: [Estado], unit: [Unidad], start: [Inicio], target: [Meta],"
                                      " confidence: [Confianza], due: [Fecha límite]}\n")
    records, rejected, notes = read(connector(tmp_path, "okrs.csv", mapping="es.yaml"))
    assert not rejected
    krs = {r.fields["title"]: r.fields for r in records if r.kind == "key_result"}
    assert (krs["Clientes"]["status"], krs["Clientes"]["unit"], krs["Clientes"]["start"], krs["Clientes"]["target"],
            krs["Clientes"]["confidence"], krs["Clientes"]["due"]) == ("on_track", "number", 10, 20, 0.85, "2026-03-15")
    assert (krs["Churn"]["status"], krs["Churn"]["unit"], krs["Churn"]["direction"], krs["Churn"]["confidence"]) == \
        ("at_risk", "percent", "decrease", 0.2)
    assert krs["Churn"]["due"] is None and krs["Churn"]["extra.sheet.Fecha límite"] == "dos meses"
    assert [n for n in notes if "kept as text" in n] == [
        "okrs.csv row 3: key_result crecer/churn: extra: column 'Fecha límite': 'dos meses' kept as text in extra "
        "(expected a date like \"2025-03-31\", \"31/03/2025\" or \"31 Mar 2025\", got 'dos meses')"]


def test_real_gtmhub_workbook_reads_its_direction_phrase_and_session(tmp_path):
    """tests/fixtures/real/gtmhub_import_workbook (ATTRIBUTION.md): `type` is the phrase
    "should increase to", the session the free label "Q4 2021", one target a formula."""
    import shutil
    from pathlib import Path

    real = Path(__file__).parent / "fixtures" / "real" / "gtmhub_import_workbook" / "Users_OKRs_Data.xlsx"
    shutil.copy(real, tmp_path / "okrs.xlsx")
    (tmp_path / "gtmhub.yaml").write_text(
        "extends: spreadsheet\nentities:\n  objective: {title: [objective], period: [Session]}\n"
        "  key_result: {title: [keyResultName], owner: [owner], start: [initialValue], target: [targetValue],"
        " direction: [type]}\n")
    records, rejected, notes = read(connector(tmp_path, "okrs.xlsx", sheet="OKRs", mapping="gtmhub.yaml"))
    assert not rejected and not [n for n in notes if "kept as text" in n]
    objectives = [r.fields for r in records if r.kind == "objective"]
    krs = [r.fields for r in records if r.kind == "key_result"]
    assert len(objectives) == 3 and {(o["period"], o["extra.period.sheet:key"]) for o in objectives} == {("Q4 2021", "2021-Q4")}
    assert len(krs) == 6 and {k["direction"] for k in krs} == {"increase"}
    assert [k["target"] for k in krs] == [5, 21, 10, 3, 4, 3]  # "=20*1.05": its cached value
