"""GX Data Docs made to work offline: no request leaves the analyst's machine.

GX's pages load Bootstrap, jQuery and Vega from public CDNs and a logo from GX's servers with the data
context's id in its URL. Those tags are removed after every build and a small local stylesheet is linked
instead: the pages render plainer, but completely, without the internet and without telling anyone.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

HERE = Path(__file__).parent
STYLESHEET = HERE / "static" / "gx_offline.css"
# <link ... href="http..."> and <script src="http..."></script> and <img src="http...">
EXTERNAL = [
    re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>", re.I),
    re.compile(r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.I),
    re.compile(r"<img\b[^>]*\bsrc=[\"']https?://[^>]*>", re.I),
]


def make_offline(docs_dir: Path) -> int:
    """Strip external resources from every page under ``docs_dir``; returns how many pages changed."""
    if not docs_dir.exists():
        return 0
    (docs_dir / "static").mkdir(parents=True, exist_ok=True)
    local_css = docs_dir / "static" / STYLESHEET.name
    shutil.copyfile(STYLESHEET, local_css)
    changed = 0
    for page in docs_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        stripped = text
        for pattern in EXTERNAL:
            stripped = pattern.sub("", stripped)
        if "gx_offline.css" not in stripped:
            href = Path(*([".."] * (len(page.relative_to(docs_dir).parts) - 1)), "static", STYLESHEET.name)
            stripped = stripped.replace("</head>", f'<link rel="stylesheet" href="{href.as_posix()}">\n</head>', 1)
        if stripped != text:
            page.write_text(stripped, encoding="utf-8")
            changed += 1
    return changed
