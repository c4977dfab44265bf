"""Project folders, resolved from the repository root (the landing folder can be moved by EDU_LANDING_DIR)."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = ROOT / ".local"
LANDING_DIR = Path(os.environ.get("EDU_LANDING_DIR", ROOT / "data" / "landing"))
# The analysts' validation report (and the GX Data Docs inside it) and the GX project's runtime state.
REPORT_DIR = Path(os.environ.get("EDU_REPORT_DIR", LOCAL_DIR / "report"))
GX_DIR = Path(os.environ.get("EDU_GX_DIR", LOCAL_DIR / "gx"))
