"""The built book, opened in a real browser: headless Chromium (Debian's package), driven through its DevTools
protocol. The home page, two lesson pages and an API page with math must load without console errors, with every
image loaded and every formula typeset by MathJax.

The site is `make book`'s output (book/_build/html); when it is missing and Sphinx is installed the test builds it
(executing the lessons takes minutes), otherwise it is skipped with the reason. Nothing is downloaded: the
browser is /usr/bin/chromium (`apt-get install chromium`), pages are served from 127.0.0.1, and the browser runs
with its background networking off. MINEMBED_BOOK_SCREENSHOTS=/some/folder saves screenshots of what it saw."""
import base64
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "book" / "_build" / "html"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                  "--remote-debugging-port=0", "--remote-allow-origins=*", "--window-size=1280,900"]


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.importorskip("sphinx", reason="no built book (run `make book`) and Sphinx is not installed")
        pytest.importorskip("myst_nb", reason="no built book (run `make book`) and myst-nb is not installed")
        done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                               str(ROOT / "book"), str(HTML)], capture_output=True, text=True)
        assert done.returncode == 0, f"the book does not build:\n{done.stderr[-5000:]}"
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Browser:
    """Just enough of the DevTools protocol: one page, commands with ids, events collected as they come."""

    def __init__(self, binary: str, profile: Path):
        import websocket

        self.proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port, deadline = None, time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        if port is None:
            self.close()
            raise RuntimeError("chromium did not open its DevTools port within 60 s")
        # drain stderr in the background so chromium never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=600, suppress_origin=True)
        self.next_id, self.events = 0, []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event, seconds=600):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            self.events.append(message)
            if message.get("method") == event:
                return message
        raise TimeoutError(event)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url):
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def errors(self):
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(params["exceptionDetails"].get("exception", {}).get("description")
                           or params["exceptionDetails"].get("text"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(f"{params['entry'].get('text')} {params['entry'].get('url', '')}")
        return out

    def screenshot(self, path: Path):
        metrics = self.call("Page.getLayoutMetrics")["cssContentSize"]
        height = min(int(metrics["height"]), 6000)
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={"x": 0, "y": 0, "width": 1280, "height": height, "scale": 1})
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium installed (Debian: apt-get install chromium); .ci/run installs it")
    pytest.importorskip("websocket", reason="websocket-client (pip install -e '.[book]') drives the browser")
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


# MathJax 2 typesets in a queue: this promise resolves when everything queued before it is done.
MATH_DONE = "new Promise(r => (window.MathJax && MathJax.Hub) ? MathJax.Hub.Queue(() => r(true)) : r(false))"
MATH_STATE = """(() => {
  const boxes = Array.from(document.querySelectorAll('span.math.notranslate, div.math.notranslate'));  // Sphinx's
  const unrendered = boxes.filter(b => !b.querySelector('.MathJax, .MathJax_Display, .MathJax_MathML math'))
                          .map(b => b.textContent.slice(0, 60));
  const errors = Array.from(document.querySelectorAll('.MathJax_Error, .merror, .noError')).map(e => e.textContent);
  return {boxes: boxes.length, unrendered, errors};
})()"""
IMAGES = "Array.from(document.images).map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}))"


def lesson_pages():
    return sorted((HTML / "_generated" / "lessons").glob("[0-9][0-9]_*.html"))


def check_page(browser, url, *, min_images=0, min_math=0):
    browser.open(url)
    assert browser.evaluate(MATH_DONE) is True or min_math == 0, f"{url}: MathJax did not load"
    time.sleep(0.2)                                  # let late console messages arrive
    browser.call("Runtime.evaluate", expression="0")
    assert browser.errors() == [], f"{url}: console errors {browser.errors()}"
    images = browser.evaluate(IMAGES)
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"{url}: images that did not load: {broken}"
    assert len(images) >= min_images, f"{url}: {len(images)} images, expected at least {min_images}"
    math = browser.evaluate(MATH_STATE)
    assert math["boxes"] >= min_math, f"{url}: {math['boxes']} formulas, expected at least {min_math}"
    assert not math["unrendered"], f"{url}: formulas MathJax did not typeset: {math['unrendered'][:5]}"
    assert not math["errors"], f"{url}: MathJax errors: {math['errors'][:5]}"
    return images, math


def test_home_and_two_lessons_load_with_images_and_math(site, browser):
    shots = os.environ.get("MINEMBED_BOOK_SCREENSHOTS")
    images, _ = check_page(browser, f"{site}/index.html", min_images=1)
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        browser.screenshot(Path(shots) / "book-home.png")
    pages = lesson_pages()
    assert len(pages) >= 2, "the book has fewer than two lesson pages"
    for page in (pages[0], pages[2] if len(pages) > 2 else pages[1]):
        rel = page.relative_to(HTML).as_posix()
        # every lesson has plots and formulas: the executed outputs and the math must be there
        check_page(browser, f"{site}/{rel}", min_images=1, min_math=1)
        if shots:
            browser.screenshot(Path(shots) / f"book-{page.stem}.png")


def test_api_page_renders_docstring_math_and_lesson_links(site, browser):
    # the text package's page has formulas from docstrings and "Used in" links back to the lessons
    check_page(browser, f"{site}/_generated/api/text.html", min_math=1)
    links = browser.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))")
    assert any("lessons/02_" in (href or "") for href in links), "no link from the API page back to lesson 02"
