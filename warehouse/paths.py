"""Project folders, resolved from the repository root."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = ROOT / ".local"
DATA_DIR = ROOT / "data"
LANDING_DIR = DATA_DIR / "landing"
