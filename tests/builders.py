"""Small hand-made files in the feeds' real layouts, for tests that need exact control of each cell."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

SCHOOLS = [
    # registry code, login, РЦОИ code, name, municipality
    ("24R00001", "edu240001", "240001", "МБОУ СШ № 1", "г. Назарово"),
    ("24R00002", "edu240002", "240002", "МБОУ СШ № 2", "г. Назарово"),
    ("24R00003", "edu240003", "240003", "МКОУ Туринская СШ", "Эвенкийский муниципальный район"),
]


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    workbook = Workbook(write_only=True)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def registry_file(folder: Path, schools: list[tuple] = SCHOOLS) -> Path:
    """The registry workbook of ``schools`` (rows as in ``SCHOOLS``) and one reorganisation."""
    header = ["Код ОО (регистр)", "Логин ФИС ОКО", "Код РЦОИ", "ОГРН", "ИНН", "Полное наименование",
              "Краткое наименование", "Муниципалитет", "Тип ОО", "Местность", "Расстояние до муниципального центра, км",
              "Малокомплектная", "Численность обучающихся", "Статус", "Головная ОО (для филиала)"]
    rows = [["Реестр общеобразовательных организаций"], header]
    for code, login, rcoi, name, municipality in schools:
        rows.append([code, login, rcoi, "1022401000000", "2456000000", name, name, municipality, "СОШ",
                     "городская", "0", "нет", 300, "действующая", None])
    reorganisations = [
        ["Дата", "Вид", "Код ОО (регистр) до", "Код ОО (регистр) после", "Наименование до", "Наименование после",
         "Логин ФИС ОКО до", "Код РЦОИ до"],
        ["01.09.2024", "смена кода", "24R00003", "24R00003", "МКОУ Туринская СШ", "МКОУ Туринская СШ",
         "edu249999", "249999"],
    ]
    return write_xlsx(folder / "registry" / "Реестр_ОО.xlsx",
                      {"Реестр ОО": rows, "Реорганизации": reorganisations})


VPR_HEADER = ["ОО", "Муниципалитет", "Название ОО", "Код участника", "Класс", "Вариант", "Пол", "ФИО",
              "1 (1б)", "2 (2б)", "3К1 (1б)", "Первичный балл", "Отметка", "Отметка по журналу"]


def vpr_rows(pupils: list[list]) -> list[list]:
    """A ВПР «Индивидуальные результаты» sheet: title, labels, difficulty row, header, school lines, pupils."""
    rows = [["ВПР 2024 Математика 5 класс"], ["Предмет", "Математика"], ["Максимальный первичный балл", 4],
            ["Дата", "16.04.2024"], [], [None] * 8 + ["Б", "П", "В"], VPR_HEADER]
    current = None
    for pupil in pupils:
        if pupil[0] != current:
            current = pupil[0]
            rows.append([f"МБОУ СШ ({current}) | Кол-во участников: 2"])
        rows.append(pupil)
    return rows


def vpr_pupil(login: str, code: str, tasks: tuple, mark, journal=4, name="Иванов Иван Иванович") -> list:
    score = sum(t for t in tasks if isinstance(t, int))
    return [login, "г. Назарово", "МБОУ СШ", code, "5А", 1, "М", name, *tasks, score, mark, journal]
