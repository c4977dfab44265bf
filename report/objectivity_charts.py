"""The evidence chart of one ВПР cell: the school's score histogram against the region's with the cut scores, and
the completion of each task by the school and the region, coloured by difficulty (SVG, as report.charts)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.patches import Patch

from report.charts import NO_DATA, _save, plt

SCHOOL, REGION, CUT = "#1f5fa8", "#d9711c", "#b22a3c"
LEVEL_COLOURS = {"Б": "#7fb3d5", "П": "#1f5fa8", "В": "#0b2f5c"}
LEVEL_NAMES = {"Б": "базовый", "П": "повышенный", "В": "высокий"}
INSUFFICIENT = "недостаточно данных"


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def _histogram(ax, school: dict[int, int], region: dict[int, int], cuts: dict[int, int], basis: str | None) -> None:
    n_school, n_region = sum(school.values()), sum(region.values())
    ax.set_title("Первичные баллы: доля участников, %", fontsize=9, loc="left")
    if not n_school:
        _empty(ax, f"{INSUFFICIENT}: распределения баллов школы нет")
        return
    top = max([*school, *region, *(c + 2 for c in cuts.values())])
    xs = list(range(top + 1))
    ax.bar(xs, [100.0 * school.get(x, 0) / n_school for x in xs], width=0.8, color=SCHOOL, alpha=0.85,
           label=f"школа (n = {n_school}{', по отчёту ФИС ОКО' if basis == 'aggregated' else ''})")
    if n_region:
        ax.step(xs, [100.0 * region.get(x, 0) / n_region for x in xs], where="mid", color=REGION, linewidth=1.6,
                label=f"регион (n = {n_region})")
    for mark, score in sorted(cuts.items()):
        ax.axvline(score - 0.5, color=CUT, linestyle="--", linewidth=1)
        ax.annotate(f"«{mark}» от {score}", (score - 0.5, 1.0), xycoords=("data", "axes fraction"), fontsize=7,
                    color=CUT, ha="left", va="top", xytext=(2, 0), textcoords="offset points")
    ax.set_xlabel("первичный балл" + ("" if cuts else " (шкала отметок не найдена)"))
    ax.set_xlim(-0.7, top + 0.7)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)


def _tasks(ax, tasks: list[dict]) -> None:
    ax.set_title("Выполнение заданий: % от максимума", fontsize=9, loc="left")
    rows = [t for t in tasks if t["mean_pct_of_max"] is not None]
    if not rows:
        _empty(ax, f"{INSUFFICIENT}: результатов по заданиям нет")
        return
    xs = list(range(len(rows)))
    colours = [LEVEL_COLOURS.get(t["difficulty"], "#999999") for t in rows]
    ax.bar(xs, [float(t["mean_pct_of_max"]) for t in rows], width=0.7, color=colours)
    region = [(x, float(t["region_pct_of_max"])) for x, t in zip(xs, rows, strict=True)
              if t["region_pct_of_max"] is not None]
    if region:
        ax.plot([x for x, _ in region], [y for _, y in region], linestyle="none", marker="D", markersize=4,
                color=REGION, label="регион")
    ax.set_xticks(xs, [str(t["task_code"]) for t in rows], rotation=90, fontsize=6.5)
    ax.set_ylim(0, 105)
    handles = [Patch(color=colour, label=f"школа: {LEVEL_NAMES[level]}") for level, colour in LEVEL_COLOURS.items()
               if any(t["difficulty"] == level for t in rows)]
    if len(handles) < len({t["difficulty"] for t in rows}):
        handles.append(Patch(color="#999999", label="школа: уровень не указан"))
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=3)


def evidence_chart(path: Path, title: str, school: dict[int, int], region: dict[int, int], cuts: dict[int, int],
                   basis: str | None, tasks: list[dict]) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.2), gridspec_kw={"width_ratios": [1, 1.15]})
    fig.subplots_adjust(left=0.06, right=0.99, top=0.84, bottom=0.34, wspace=0.18)
    fig.suptitle(title, fontsize=9.5, x=0.06, ha="left")
    _histogram(left, school, region, cuts, basis)
    _tasks(right, tasks)
    return _save(fig, path)


__all__ = ["NO_DATA", "evidence_chart"]
