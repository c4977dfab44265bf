"""A small Chrome DevTools Protocol driver for Debian's headless Chromium (websockets, no Selenium).

    with Browser() as browser:
        page = browser.open(Path("index.html"))   # navigates, waits for load, records every request URL
        page.evaluate("document.title"); page.screenshot(Path("out.png"))

Run as a script to check a built report and write its screenshots: ``python tests/browser.py .local/report``.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.sync.client import connect

CHROMIUM_NAMES = ("chromium", "chromium-browser")
INSTALL_HINT = ("Chromium не найден: установите пакет Debian `apt-get install -y chromium` "
                "(scripts/test.sh ставит его сам, когда его нет)")
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def chromium_path() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with its own throw-away profile; pages are CDP sessions on one websocket."""

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 20.0):
        self.width, self.height, self.timeout = width, height, timeout
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def __enter__(self) -> Browser:
        exe = chromium_path()
        if exe is None:
            raise BrowserError(INSTALL_HINT)
        self.profile = Path(tempfile.mkdtemp(prefix="edu-chromium-"))
        self.process = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
             "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
             "--hide-scrollbars", "--mute-audio", f"--window-size={self.width},{self.height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self._connection = connect(self._ws_url(), max_size=None, open_timeout=self.timeout)
            self.ws = self._connection.__enter__()
        except BaseException:
            self._stop()
            raise
        return self

    def _ws_url(self) -> str:
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError(f"Chromium завершился с кодом {self.process.returncode}: "
                                   f"{self.process.stderr.read().decode(errors='replace')[-2000:]}")
            lines = active.read_text().split("\n") if active.exists() else []
            if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
            time.sleep(0.05)
        raise BrowserError(f"Chromium не открыл порт отладки за {self.timeout:.0f} с")

    def __exit__(self, *exc) -> None:
        try:
            self._connection.__exit__(None, None, None)
        finally:
            self._stop()

    def _stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        shutil.rmtree(self.profile, ignore_errors=True)

    # ---- protocol
    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        msg_id = next(self.ids)
        message = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, session: str, since: int = 0) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self.events[since:]:
                if event["method"] == method and event.get("sessionId") == session:
                    return event
            since = len(self.events)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"не дождались события {method}")
            reply = json.loads(self.ws.recv(timeout=remaining))
            if "method" in reply:
                self.events.append(reply)

    def new_page(self, javascript: bool = True) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False}, session)
        if not javascript:
            self.send("Emulation.setScriptExecutionDisabled", {"value": True}, session)
        return Page(self, session, target)

    def open(self, path: Path, javascript: bool = True) -> Page:
        page = self.new_page(javascript)
        page.navigate(path)
        return page


class Page:
    def __init__(self, browser: Browser, session: str, target: str):
        self.browser, self.session, self.target = browser, session, target

    def navigate(self, path: Path | str) -> None:
        url = path if isinstance(path, str) else Path(path).resolve().as_uri()
        mark = len(self.browser.events)
        result = self.browser.send("Page.navigate", {"url": url}, self.session)
        if result.get("errorText"):
            raise BrowserError(f"{url}: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, mark)

    def requests(self) -> list[str]:
        """Every URL this page asked for (Network.requestWillBeSent), in order."""
        return [e["params"]["request"]["url"] for e in self.browser.events
                if e.get("sessionId") == self.session and e["method"] == "Network.requestWillBeSent"]

    def failed_requests(self) -> list[str]:
        by_id = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in self.browser.events
                 if e.get("sessionId") == self.session and e["method"] == "Network.requestWillBeSent"}
        return [f"{by_id.get(e['params']['requestId'], '?')}: {e['params'].get('errorText')}"
                for e in self.browser.events
                if e.get("sessionId") == self.session and e["method"] == "Network.loadingFailed"]

    def evaluate(self, expression: str):
        """The value of a JS expression, evaluated by the DevTools protocol (works with page scripts disabled)."""
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                        "awaitPromise": True}, self.session)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = True, max_height: int = 6000) -> Path:
        params: dict = {"format": "png"}
        if full_page:
            size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": max(size["width"], 1),
                                "height": min(max(size["height"], 1), max_height), "scale": 1})
        data = self.browser.send("Page.captureScreenshot", params, self.session)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self, path: Path) -> Path:
        """Print the page as the print dialog would (A4, the page's @page rules and print styles)."""
        data = self.browser.send("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True,
                                                     "preferCSSPageSize": True}, self.session)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})


PAGE_FACTS = """(() => {
  const imgs = [...document.images];
  return {
    title: document.title,
    h1: [...document.querySelectorAll('h1')].map(e => e.textContent.trim()),
    h2: [...document.querySelectorAll('h2')].map(e => e.textContent.trim()),
    tables: [...document.querySelectorAll('table.data')].map(t => t.querySelectorAll('tbody tr').length),
    svgs: document.querySelectorAll('svg').length,
    images: imgs.map(i => ({src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    width: document.documentElement.scrollWidth,
  };
})()"""


def non_local(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(LOCAL_SCHEMES)]


def check_site(site: Path, screenshot_page: str | None = None) -> dict[str, dict]:
    """Open every page of a built report; raise AssertionError on a request off the machine or a broken image."""
    facts = {}
    with Browser() as browser:
        for html in sorted(site.glob("*.html")):
            page = browser.open(html)
            fact = page.evaluate(PAGE_FACTS)
            fact["requests"] = page.requests()
            outside = non_local(fact["requests"])
            assert not outside, f"{html.name}: запросы за пределы машины: {outside}"
            broken = [i["src"] for i in fact["images"] if not i["complete"] or i["width"] == 0]
            assert not broken, f"{html.name}: не показаны изображения {broken}"
            assert not page.failed_requests(), f"{html.name}: не загрузились {page.failed_requests()}"
            if html.name == screenshot_page:
                fact["screenshot"] = str(page.screenshot(site / "screenshots" / "run.png"))
            page.close()
            facts[html.name] = fact
    return facts


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".local/report")
    runs = sorted(root.glob("run-*.html"), key=lambda p: int(p.stem.split("-")[1]))
    result = check_site(root, runs[-1].name if runs else None)
    for name, fact in result.items():
        print(f"{name}: h1={fact['h1']} таблиц={len(fact['tables'])} изображений={len(fact['images'])} "
              f"запросов={len(fact['requests'])}")
    print(next((f["screenshot"] for f in result.values() if "screenshot" in f), "скриншот не сделан"))
