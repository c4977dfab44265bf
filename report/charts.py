"""Charts of the report as SVG files (matplotlib, Agg backend: no display, no network, text as paths)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter, MaxNLocator

plt.rcParams.update({
    "font.family": "DejaVu Sans",   # bundled with matplotlib, has Cyrillic
    "font.size": 9,
    "svg.fonttype": "path",         # glyphs as paths: the SVG needs no font on the reader's machine
    "svg.hashsalt": "edu-report",   # stable ids: the same data gives the same file
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
})
COLOURS = ("#1f5fa8", "#d9711c", "#2e8b57", "#b22a3c", "#7b4fa6", "#8c6d31", "#3b9ab2", "#666666",
           "#c8509a", "#4d7f17")
NO_DATA = "нет данных"


def _thousands(value: float, _pos=None) -> str:
    if value == int(value):
        return f"{int(value):,}".replace(",", "\u00a0")
    return f"{value:.1f}".replace(".", ",")


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return path


def _lines(ax, x_labels: Sequence[str], series: dict[str, Sequence[float | None]], ylabel: str) -> None:
    xs = range(len(x_labels))
    drawn = False
    for i, (label, values) in enumerate(series.items()):
        ys = [math.nan if v is None else v for v in values]
        if all(math.isnan(y) for y in ys):
            continue
        drawn = True
        ax.plot(xs, ys, marker="o", markersize=4, linewidth=1.6, label=label, color=COLOURS[i % len(COLOURS)])
    ax.set_xticks(list(xs), x_labels)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    if not drawn:
        ax.text(0.5, 0.5, NO_DATA, transform=ax.transAxes, ha="center", va="center", color="#777777")
        ax.set_yticks([])
    else:
        ax.set_ylim(bottom=0)


def volume_chart(path: Path, x_labels: Sequence[str], participants: dict[str, Sequence[int | None]] | None,
                 schools: dict[str, Sequence[int | None]]) -> Path:
    """Participants (when the feed has pupils) and schools per school year, one line per series."""
    panels = 2 if participants else 1
    fig, axes = plt.subplots(1, panels, figsize=(9.0 if panels == 2 else 6.5, 2.8), squeeze=False)
    fig.subplots_adjust(left=0.08 if panels == 2 else 0.11, right=0.70 if panels == 2 else 0.58, top=0.88,
                        bottom=0.12, wspace=0.35)
    if participants:
        _lines(axes[0][0], x_labels, participants, "участники")
        axes[0][0].set_title("Участники", fontsize=9)
    right = axes[0][-1]
    _lines(right, x_labels, schools, "ОО")
    right.set_title("Образовательные организации", fontsize=9)
    handles, labels = right.get_legend_handles_labels()
    if not handles and participants:
        handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="center left", fontsize=7.5, frameon=False,
                   bbox_to_anchor=(0.71 if panels == 2 else 0.59, 0.5))
    return _save(fig, path)


def participants_chart(path: Path, title: str, x_labels: Sequence[str],
                       series: dict[str, Sequence[int | None]]) -> Path:
    fig, ax = plt.subplots(figsize=(9.0, 3.0))
    fig.subplots_adjust(left=0.08, right=0.62, top=0.86, bottom=0.12)
    _lines(ax, x_labels, series, "участники")
    ax.set_title(title, fontsize=10, loc="left")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.02, 0.5))
    return _save(fig, path)


def rate_chart(path: Path, title: str, x_labels: Sequence[str], rates: Sequence[float | None]) -> Path:
    """Bars of a percentage per run; a run without data gets no bar and the label «нет данных»."""
    fig, ax = plt.subplots(figsize=(9.0, 2.8))
    xs = list(range(len(x_labels)))
    values = [0.0 if r is None else r for r in rates]
    bars = ax.bar(xs, values, color=COLOURS[0], width=0.6)
    for bar, rate in zip(bars, rates, strict=True):
        text = NO_DATA if rate is None else f"{rate:.1f}\u00a0%".replace(".", ",")
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                    fontsize=8, xytext=(0, 2), textcoords="offset points",
                    color="#777777" if rate is None else "#222222")
    ax.set_xticks(xs, x_labels)
    ax.set_xlim(-0.6, max(len(xs), 8) - 0.4)
    ax.set_ylabel("% отложенных строк")
    ax.set_ylim(0, max([v for v in values if v] + [1.0]) * 1.25)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_title(title, fontsize=10, loc="left")
    fig.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.2)
    return _save(fig, path)
