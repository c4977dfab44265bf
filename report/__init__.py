"""The analysts' validation report (static offline site from the qc schema): ``python -m report``."""

from report.build import build_report

__all__ = ["build_report"]
