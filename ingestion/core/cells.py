"""Cell values that readers hand to the row rules beyond plain text, numbers and dates."""

from __future__ import annotations


class UncachedFormula:
    """A formula cell saved without its computed value (e.g. written by a script, never opened in Excel).

    A reader of the file would see a number once Excel recalculates; the warehouse cannot, so such a
    cell is quarantined, never stored as NULL.
    """

    _instance: UncachedFormula | None = None

    def __new__(cls) -> UncachedFormula:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCACHED_FORMULA"

    def __str__(self) -> str:
        return "формула без вычисленного значения"


UNCACHED_FORMULA = UncachedFormula()


# Error values of Excel formulas (ECMA-376 Part 1, §18.17.2.3 ST_CellError, and the newer #SPILL!/#CALC!).
# The readers give an error cell as its text, so that typing fails on the value a reader of the file sees;
# a row rule may name these specially («ошибка формулы #DIV/0!»). calamine (.xls, .ods) gives them as empty.
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!"})
