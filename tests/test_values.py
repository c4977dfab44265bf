"""Typing of cell values: missing tokens, decimal commas, ranges, school years."""

import datetime as dt

import pandas as pd
import pytest

from ingestion.core import values


def test_missing_tokens_are_na_not_errors():
    raw = pd.Series(["X", "Х", "-", "—", "нет отметки", "", None, " 4 "], dtype="object")
    parsed, bad = values.parse_int(raw, 2, 5)
    assert parsed.isna().tolist() == [True] * 7 + [False]
    assert parsed.iloc[7] == 4
    assert not bad.any()


def test_decimal_comma_and_range():
    parsed, bad = values.parse_decimal(pd.Series(["12,5", "100", "100,1", "abc", 7.25], dtype="object"), 0, 100)
    assert parsed.iloc[0] == 12.5 and parsed.iloc[1] == 100 and parsed.iloc[4] == 7.25
    assert bad.tolist() == [False, False, True, True, False]


def test_int_rejects_fractions_and_out_of_range():
    parsed, bad = values.parse_int(pd.Series(["3", "3,5", "7", 5.0], dtype="object"), 2, 5)
    assert bad.tolist() == [False, True, True, False]
    assert parsed.iloc[3] == 5


@pytest.mark.parametrize(("text", "year"), [("2023-2024", 2024), ("2023/24", 2024), ("2024", 2024),
                                             ("1999–2000", 2000)])
def test_school_year_is_keyed_by_spring(text, year):
    assert values.school_year_of(text) == year


@pytest.mark.parametrize("text", ["2023-2025", "23-24", "учебный"])
def test_bad_school_years_are_errors(text):
    with pytest.raises(ValueError):
        values.school_year_of(text)


def test_dates_from_text_and_excel():
    parsed, bad = values.parse_date(pd.Series(["16.04.2024", dt.datetime(2024, 4, 17), "2024-04-18", "вчера"]))
    assert parsed.tolist()[:3] == [dt.date(2024, 4, 16), dt.date(2024, 4, 17), dt.date(2024, 4, 18)]
    assert bad.tolist() == [False, False, False, True]


def test_booleans_and_choices():
    parsed, bad = values.parse_bool(pd.Series(["да", "Нет", "1", "+", "может быть", "-", 0.0, "", None, "X"],
                                              dtype="object"))
    assert parsed.tolist()[:4] == [True, False, True, True]
    assert parsed.tolist()[5:7] == [False, False]  # «-» is «нет» in a yes/no column, not a missing value
    assert parsed.iloc[7:].isna().all()
    assert bad.tolist() == [False, False, False, False, True, False, False, False, False, False]
    level, bad = values.parse_choice(pd.Series(["Ниже базового", "повышенный", "высший"]),
                                     {"ниже базового": "L0", "повышенный": "L3"})
    assert level.tolist()[:2] == ["L0", "L3"] and bad.tolist() == [False, False, True]


def test_delimiter_is_the_one_giving_consistent_rows():
    from ingestion.core.sources import detect_delimiter

    semicolons = "План-отчёт, г. Норильск\nДата;Уровень;ОО-участники\n01.10.2024;региональный;24R1, 24R2, 24R3\n" \
                 "02.10.2024;школьный;24R4, 24R5\n"
    assert detect_delimiter(semicolons) == ";"
    commas = "Год,Класс,Предмет,Логин,2,3\n2024,5,Математика,edu240001,\"12,5\",\"40,0\"\n2024,5,Русский,edu2,1,2\n"
    assert detect_delimiter(commas) == ","
    assert detect_delimiter("a\tb\tc\n1\t2\t3\n4\t5\t6\n") == "\t"
    # a header-only report: the title's comma must not win over the header's semicolons
    assert detect_delimiter("Программы повышения качества, г. Назарово\nГод;Код ОО;Программа разработана\n") == ";"


@pytest.mark.parametrize(("text", "year"), [("2023-2024 учебный год", 2024), ("2023/2024 уч. г.", 2024),
                                             ("2023–24", 2024), ("2024 г.", 2024), ("2023-2024 уч.год", 2024),
                                             ("2023 - 2024  учебного года", 2024)])
def test_school_years_with_words_are_keyed_by_spring(text, year):
    assert values.school_year_of(text) == year


def test_school_years_outside_2009_to_next_year_are_implausible():
    next_year = dt.date.today().year + 1
    raw = pd.Series(["2008-2009", "2008", f"{next_year - 1}/{next_year % 100:02d}", str(next_year + 1), 2015.0])
    value, bad, implausible = values.parse_school_year_checked(raw)
    assert value.tolist()[:3] == [2009, pd.NA, next_year] and value.iloc[4] == 2015
    assert implausible.tolist() == [False, True, False, True, False]
    assert bad.tolist() == implausible.tolist()


def test_dates_outside_the_window_are_bad_and_marked_implausible():
    next_year = dt.date.today().year + 1
    raw = pd.Series([f"31.12.{next_year}", f"01.01.{next_year + 1}", "31.12.2008", "01.01.2009", 39813, 10, "45 397"],
                    dtype="object")
    value, bad, implausible = values.parse_date_checked(raw)
    assert value.iloc[0] == dt.date(next_year, 12, 31) and value.iloc[3] == dt.date(2009, 1, 1)
    assert implausible.tolist() == [False, True, True, False, True, False, False]  # 39813 is 31.12.2008
    assert bad.tolist() == [False, True, True, False, True, True, True]  # 10 is no date, nor is «45 397»


def test_a_formula_without_a_value_is_never_missing():
    from ingestion.core.cells import UNCACHED_FORMULA

    raw = pd.Series([UNCACHED_FORMULA, "", "5"], dtype="object")
    for parse in (values.parse_int, values.parse_decimal, values.parse_bool, values.parse_date,
                  values.parse_school_year, values.parse_text, values.parse_class_label):
        value, bad = parse(raw)
        assert bad.tolist()[:2] == [True, False] and pd.isna(value.iloc[0]), parse.__name__
    assert values.uncached(raw).tolist() == [True, False, False]
