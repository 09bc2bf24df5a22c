"""The built book, opened in a real browser: headless Chromium (Debian's package), driven through its DevTools
protocol. The home page, two lesson pages and an API page with math must load without console errors, with every
image loaded and every formula typeset by MathJax.

The site is `make book`'s output (book/_build/html); when it is missing and Sphinx is installed the test builds it
(executing the lessons takes minutes), otherwise it is skipped with the reason. Nothing is downloaded: the
browser is /usr/bin/chromium (`apt-get install chromium`), pages are served from 127.0.0.1, and the browser runs
with its background networking off. MINEMBED_BOOK_SCREENSHOTS=/some/folder saves screenshots of what it saw;
MINEMBED_BOOK_REQUIRE_BROWSER=1 (set by .ci/run) turns "no browser" from a skip into a failure.

Nothing here waits without a limit: every DevTools answer within COMMAND_SECONDS, a page's load event within
LOAD_SECONDS, MathJax's typesetting within MATH_SECONDS; a page that runs over fails with its name and what is
missing (formulas not typeset, files that did not load, console errors). MathJax 2 (the one the book ships) says
it is done through ``MathJax.Hub.Queue``; MathJax 3 through ``MathJax.startup.promise``: the check asks whichever
is there."""
import base64
import functools
import http.server
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "book" / "_build" / "html"
COMMAND_SECONDS = 30     # one DevTools command and its answer
LOAD_SECONDS = 60        # a page's load event
MATH_SECONDS = 60        # MathJax typesetting every formula of a page (a few seconds on an idle machine)
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

        self.ws = None
        # its own process group: close() stops chromium's helper processes too
        self.proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        lines = queue.Queue()

        def drain():   # read stderr in the background: chromium never blocks on a full pipe, we never on a read
            for line in self.proc.stderr:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, daemon=True).start()
        port, deadline = None, time.monotonic() + LOAD_SECONDS
        while port is None:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                self.close()
                raise RuntimeError(f"chromium did not open its DevTools port within {LOAD_SECONDS} s") from None
            if line is None:
                self.close()
                raise RuntimeError(f"chromium exited with {self.proc.returncode} before opening its DevTools port")
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=COMMAND_SECONDS,
                                              suppress_origin=True)
        self.next_id, self.events, self.url = 0, [], None
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)

    def receive(self, deadline, waiting_for):
        """The next DevTools message, or a TimeoutError naming the page and what was awaited."""
        import websocket

        remaining = deadline - time.monotonic()
        if remaining > 0:
            self.ws.settimeout(remaining)
            try:
                return json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                pass
        raise TimeoutError(f"{self.url}: no {waiting_for} within the time limit")

    def call(self, method, seconds=COMMAND_SECONDS, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + seconds
        while True:
            message = self.receive(deadline, f"answer to {method} ({seconds} s)")
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event, seconds):
        deadline = time.monotonic() + seconds
        while True:
            message = self.receive(deadline, f"{event} ({seconds} s)")
            self.events.append(message)
            if message.get("method") == event:
                return message

    def evaluate(self, expression, seconds=COMMAND_SECONDS):
        result = self.call("Runtime.evaluate", seconds=seconds, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{self.url}: {expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url):
        self.events.clear()
        self.url = url
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", LOAD_SECONDS)

    def failed_requests(self):
        """Files the page asked for that did not arrive: HTTP status >= 400, or a failed load."""
        urls, out = {}, []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Network.requestWillBeSent":
                urls[params["requestId"]] = params["request"]["url"]
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                out.append(f"{params['response']['status']} {params['response']['url']}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                url = urls.get(params["requestId"], params["requestId"])
                if not any(url in o for o in out):
                    out.append(f"{params.get('errorText')} {url}")
        return out

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
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)      # chromium and its renderer, GPU and zygote processes
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                pass


def skip_or_fail(reason):
    """Skip, except in CI (.ci/run sets MINEMBED_BOOK_REQUIRE_BROWSER=1): there the browser test must run."""
    if os.environ.get("MINEMBED_BOOK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"MINEMBED_BOOK_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary = chromium_binary()
    if binary is None:
        skip_or_fail("no chromium installed (Debian: apt-get install chromium); .ci/run installs it")
    try:
        import websocket  # noqa: F401
    except ImportError:
        skip_or_fail("websocket-client (pip install -e '.[book]') drives the browser")
    b = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    # `timeout` (.ci/run) stops pytest with SIGTERM: turn it into an interrupt so that this fixture still closes
    # the browser instead of leaving it running
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield b
    finally:
        b.close()
        signal.signal(signal.SIGTERM, previous)


# "done" once MathJax has typeset everything queued (MathJax 2: a callback at the end of its queue; MathJax 3: its
# startup promise), "none" when the page has no MathJax, "timeout" after MATH_SECONDS, "error: ..." if it throws.
MATH_DONE = """new Promise(resolve => {
  setTimeout(() => resolve("timeout"), MATH_MS);
  const mj = window.MathJax;
  try {
    if (mj && mj.Hub && mj.Hub.Queue) mj.Hub.Queue(() => resolve("done"));
    else if (mj && mj.startup && mj.startup.promise) mj.startup.promise.then(() => resolve("done"),
                                                                           e => resolve("error: " + e));
    else resolve("none");
  } catch (e) { resolve("error: " + e); }
})""".replace("MATH_MS", str(MATH_SECONDS * 1000))
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
    state = browser.evaluate(MATH_DONE, seconds=MATH_SECONDS + COMMAND_SECONDS)
    time.sleep(0.2)                                  # let late console messages arrive
    browser.call("Runtime.evaluate", expression="0")
    if state != "done" and (min_math or state != "none"):
        math = browser.evaluate(MATH_STATE)
        pytest.fail(f"{url}: MathJax did not finish typesetting ({state} after at most {MATH_SECONDS} s): "
                    f"{len(math['unrendered'])} of {math['boxes']} formulas not typeset, e.g. "
                    f"{math['unrendered'][:3]}; files that did not load: {browser.failed_requests()}; "
                    f"console errors: {[e[:300] for e in browser.errors()][:5]}")
    assert browser.failed_requests() == [], f"{url}: files that did not load: {browser.failed_requests()}"
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
    # lesson 02 trains the bag-of-words classifier of minembed.text (a quick build may leave it out)
    expected = "lessons/02_" if list((HTML / "_generated" / "lessons").glob("02_*.html")) else "lessons/"
    assert any(expected in (href or "") for href in links), f"no link from the API page back to {expected}"
