"""The marts' dbt build as one astronomer-cosmos task: ``dbt build`` of the whole project or of the part the new
loads feed (``warehouse.build_plan``), with the Airflow connection of the transformer role as dbt's profile.

One dbt process builds every layer in the order the models need and runs each model's tests right after it (a
model whose test fails stops the models that read it); dbt's threads use both cores. Its log ends with a table of
every model, seed and test (status, seconds), read from dbt's run_results.json. The task holds the warehouse's
build lock (``warehouse.locks``), so no load commits while dbt builds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import airflow  # noqa: F401  (cosmos imports airflow's settings; importing airflow first avoids a cycle)
from cosmos import ProfileConfig
from cosmos.constants import InvocationMode
from cosmos.operators.local import DbtBuildLocalOperator
from cosmos.profiles import PostgresUserPasswordProfileMapping

from warehouse import orchestration as names
from warehouse.build_plan import DBT_DIR

THREADS = 2  # the cores (4 measured no faster; the reload case of the chain test failed twice with 4)


def profile_config() -> ProfileConfig:
    return ProfileConfig(
        profile_name="edu_warehouse", target_name="default",
        profile_mapping=PostgresUserPasswordProfileMapping(
            conn_id=names.CONN_TRANSFORMER, profile_args={"schema": "analytics", "threads": THREADS}))


def run_results_table(run_results: dict, limit: int | None = None) -> list[str]:
    """One line per dbt node (slowest first): status, seconds, name; then the totals."""
    results = sorted(run_results.get("results", []), key=lambda r: -(r.get("execution_time") or 0))
    lines = [f"{'статус':<8}{'секунд':>8}  узел"]
    for r in results[:limit]:
        lines.append(f"{r['status']:<8}{r.get('execution_time') or 0:>8.1f}  {r['unique_id']}")
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    lines.append(f"Узлов: {len(results)} (" + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())) +
                 f"); время dbt: {run_results.get('elapsed_time') or 0:.1f} с")
    return lines


def print_run_results(project_dir: str, **_: Any) -> None:
    """Cosmos callback (after dbt, before the task's outcome): the per-node table in the task log."""
    path = Path(project_dir) / "target" / "run_results.json"
    if path.is_file():
        print("\n".join(run_results_table(json.loads(path.read_text(encoding="utf-8")))))


class MartsBuildOperator(DbtBuildLocalOperator):
    """``dbt build`` with a selection rendered at run time (empty: the whole project), under the build lock."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("project_dir", str(DBT_DIR))
        kwargs.setdefault("profile_config", profile_config())
        kwargs.setdefault("invocation_mode", InvocationMode.DBT_RUNNER)
        kwargs.setdefault("install_deps", False)
        kwargs.setdefault("emit_datasets", False)
        kwargs.setdefault("callback", print_run_results)
        super().__init__(**kwargs)

    def execute(self, context: Any, **kwargs: Any) -> Any:
        from cosmos import cache, settings

        from warehouse import locks
        from warehouse.config import warehouse_url

        if self.cache_dir is None and settings.enable_cache:  # dbt's partial parse kept between builds
            self.cache_dir = cache._obtain_cache_dir_path(f"{self.dag_id}__{self.task_id}")
        self.select = self.select.split() if isinstance(self.select, str) and self.select.strip() else None
        print("Сборка dbt: " + (" ".join(self.select) if self.select else "весь проект"))
        with locks.exclusive_build(warehouse_url(names.CONN_TRANSFORMER)):
            return super().execute(context, **kwargs)
