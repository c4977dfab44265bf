"""Suite files (expectations/suites/*.yml): reading, checking and turning them into GX suites."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from warehouse.paths import ROOT

SUITES_DIR = ROOT / "expectations" / "suites"
SEEDS_DIR = ROOT / "dbt_project" / "seeds"
# {seed:method_parameters:share_sum_tolerance_pp} in a query or kwarg: the value of that parameter in the
# dbt seed, so that a method's threshold lives in one place (the seed), for the marts and the checks alike.
SEED_PARAMETER = re.compile(r"\{seed:method_parameters:([a-z0-9_]+)\}")
POLICIES = ("block", "warn")
KINDS = ("feed", "mart")
# Expectations that judge a whole table and so cannot name the rows (and loads) to block.
ROW_LEVEL_PREFIXES = ("expect_column_values_", "expect_column_pair_values_", "expect_multicolumn_",
                      "expect_compound_columns_to_be_unique", "expect_select_column_values_")
# ...except these, which judge the column's type or uniqueness rather than single rows
NOT_ROW_LEVEL = {"expect_column_values_to_be_in_type_list", "expect_column_values_to_be_of_type",
                 "expect_column_values_to_be_unique"}
UNEXPECTED_ROWS = "unexpected_rows_expectation"


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and the problem in Russian."""


@dataclass(frozen=True)
class Expectation:
    key: str
    type: str
    kwargs: dict[str, Any]
    policy: str
    description: str
    source: str | None = None

    @property
    def row_level(self) -> bool:
        return self.type == UNEXPECTED_ROWS or (self.type.startswith(ROW_LEVEL_PREFIXES)
                                                 and self.type not in NOT_ROW_LEVEL)


@dataclass(frozen=True)
class Suite:
    name: str
    title: str
    kind: str
    relation: str
    feed: str | None
    expectations: list[Expectation] = field(default_factory=list)
    path: Path | None = None

    @property
    def schema(self) -> str:
        return self.relation.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.relation.split(".", 1)[1]

    @property
    def validated_relation(self) -> tuple[str, str]:
        """Schema and table GX reads: a feed's batch view, or the mart itself."""
        return ("qc_work", f"batch_{self.table}") if self.kind == "feed" else (self.schema, self.table)

    def expectation(self, key: str) -> Expectation:
        return next(e for e in self.expectations if e.key == key)


def class_name(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def gx_class(type_name: str):
    import great_expectations.expectations as gxe

    cls = getattr(gxe, class_name(type_name), None)
    if cls is None:
        raise SuiteError(f"неизвестный тип ожидания GX «{type_name}»")
    return cls


def _fail(path: Path, text: str) -> SuiteError:
    return SuiteError(f"Набор ожиданий «{path.name}»: {text}")


def method_parameters(seeds_dir: Path = SEEDS_DIR) -> dict[str, str]:
    import csv

    with (seeds_dir / "method_parameters.csv").open(encoding="utf-8", newline="") as handle:
        return {row["parameter_code"]: row["value"] for row in csv.DictReader(handle)}


def _with_parameters(path: Path, text: str) -> str:
    if not SEED_PARAMETER.search(text):
        return text
    values = method_parameters()

    def value(match: re.Match) -> str:
        if match.group(1) not in values:
            raise _fail(path, f"параметра «{match.group(1)}» нет в dbt_project/seeds/method_parameters.csv")
        return values[match.group(1)]

    return SEED_PARAMETER.sub(value, text)


def suite_text(path: Path) -> str:
    """The suite file's text with the seed parameters filled in."""
    return _with_parameters(path, path.read_text(encoding="utf-8"))


def read_suite(path: Path) -> Suite:
    try:
        spec = yaml.safe_load(suite_text(path)) or {}
    except yaml.YAMLError as exc:
        raise _fail(path, f"файл не разбирается как YAML ({exc})") from exc
    for required in ("suite", "title", "kind", "relation", "expectations"):
        if not spec.get(required):
            raise _fail(path, f"не заполнено поле «{required}»")
    if spec["suite"] != path.stem:
        raise _fail(path, f"поле suite «{spec['suite']}» не совпадает с именем файла")
    if spec["kind"] not in KINDS:
        raise _fail(path, f"kind должен быть feed или mart, а не «{spec['kind']}»")
    if not re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", spec["relation"]):
        raise _fail(path, f"relation «{spec['relation']}» должен иметь вид схема.таблица")
    expectations, keys = [], set()
    for number, item in enumerate(spec["expectations"], start=1):
        where = f"ожидание {number} ({item.get('key', 'без ключа')})"
        for required in ("key", "type", "policy", "description"):
            if not item.get(required):
                raise _fail(path, f"{where}: не заполнено поле «{required}»")
        if item["key"] in keys:
            raise _fail(path, f"{where}: ключ повторяется")
        keys.add(item["key"])
        if item["policy"] not in POLICIES:
            raise _fail(path, f"{where}: политика должна быть block или warn, а не «{item['policy']}»")
        expectation = Expectation(item["key"], item["type"], dict(item.get("kwargs") or {}), item["policy"],
                                  str(item["description"]).strip(), item.get("source"))
        if expectation.policy == "block" and spec["kind"] == "feed" and not expectation.row_level:
            raise _fail(path, f"{where}: ожидание по таблице целиком не называет строк и загрузок, которые нужно "
                              "заблокировать: политика может быть только warn")
        query = expectation.kwargs.get("unexpected_rows_query", "")
        if expectation.type == UNEXPECTED_ROWS and "{batch}" not in query:
            raise _fail(path, f"{where}: в запросе unexpected_rows_query нет {{batch}}")
        if re.search(r"\{batch\}\s+(as\s+)?(?!where|join|left|inner|group|order|limit|union|cross|on\b)[a-z_]\w*",
                     query, re.I):
            raise _fail(path, f"{where}: GX подставляет вместо {{batch}} подзапрос с собственным псевдонимом, "
                              "поэтому {batch} нельзя дать псевдоним: пишите with b as (select * from {batch}) …")
        try:
            to_gx(expectation)
        except Exception as exc:  # pydantic validation of kwargs
            raise _fail(path, f"{where}: GX не принимает параметры ({exc})") from exc
        expectations.append(expectation)
    return Suite(spec["suite"], spec["title"], spec["kind"], spec["relation"], spec.get("feed"), expectations, path)


def read_suites(folder: Path = SUITES_DIR, kind: str | None = None) -> list[Suite]:
    suites = [read_suite(p) for p in sorted(folder.glob("*.yml"))]
    return [s for s in suites if kind is None or s.kind == kind]


def to_gx(expectation: Expectation):
    """The GX expectation, carrying its suite key and policy in meta (so a result finds its way back)."""
    return gx_class(expectation.type)(
        **expectation.kwargs, description=expectation.description,
        meta={"key": expectation.key, "policy": expectation.policy, "source": expectation.source})
