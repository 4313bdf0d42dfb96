"""The dashboard's task page of a 1,000-frame task: served, drawn in a browser, and kept current.

A fresh SQLite farm home; ``rfarm serve`` runs on it as a real process, and a
user logs in through the login form. Then, for a task of ``--frames`` frames
(half of them done):

1. the page's HTML from the server (median of ``--repeat``), beside the baseline
   of the same run, the task's JSON document (``GET /api/tasks/{id}/status``)
   that the page's script reads;
2. the page drawn in Chromium (``/usr/bin/chromium`` under Playwright; skipped
   when either is missing): navigation start to the load event, median of 5;
3. live: a frame finished by the scheduler in this process until its element
   on the open page says ``done`` (median of 10), beside the server's event poll.

Goals are printed beside the figures (under a second for 1 and 2, a second for 3);
they are never asserted.

    python benchmarks/bench_dashboard.py [--frames 1000] [--repeat 20]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rfarm.api import EVENT_POLL_S, LocalFarm  # noqa: E402
from rfarm.config import load_config  # noqa: E402
from rfarm.state import scheduler  # noqa: E402
from rfarm.state.users import Caller, Role  # noqa: E402
from rfarm.submit.request import SubmitRequest  # noqa: E402

PASSWORD = "bench password"
CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def finish_next(node: str) -> int:
    """Claim and finish the next frame as ``node``; its number."""
    claim = scheduler.claim(node, lease_s=60)
    assert claim is not None, "no frame left to finish"
    frame = claim.frames[0]
    scheduler.finish_frame(frame.id, claim.token, outputs=[f"/out/{frame.number:04d}.png"])
    return frame.number


def log_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf
    answer = client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf.group(1)})
    assert answer.status_code == 303, answer.text
    return client


def median_s(call: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def browser_figures(url: str, cookie: str, task_id: int) -> tuple[float, float, float] | None:
    """(median load time of the page, of it the part after the last byte came, median time for a
    finished frame to show), or None without a browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("  (no playwright: pip install playwright; the browser figures are skipped)")
        return None
    if not CHROMIUM.is_file():
        print(f"  (no {CHROMIUM}: apt-get install chromium; the browser figures are skipped)")
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": "rfarm_session", "value": cookie, "url": url}])
        page = context.new_page()
        loads = []
        for _ in range(5):
            page.goto(f"{url}/tasks/{task_id}", wait_until="load")
            timing = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
            loads.append(((timing["loadEventEnd"] - timing["startTime"]) / 1000,
                          (timing["loadEventEnd"] - timing["responseEnd"]) / 1000))
        page.wait_for_selector("#live:not([hidden])")
        shows = []
        for _ in range(10):
            start = time.perf_counter()
            number = finish_next("bench-node")
            page.wait_for_function(f"() => document.querySelector('li[data-frame=\"{number}\"]').dataset.status === 'done'",
                                   polling=10, timeout=30_000)
            shows.append(time.perf_counter() - start)
        browser.close()
    return (statistics.median(t for t, _ in loads), statistics.median(d for _, d in loads),
            statistics.median(shows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="rfarm-bench-dashboard-"))
    os.environ.update({"RFARM_HOME": str(home), "RFARM_USER": "bench", "RFARM_API_RATE_LIMIT": "1000000"})
    config = load_config()
    api = LocalFarm(config)
    api.add_user(Caller("root", Role.ADMIN), "bench", "artist", PASSWORD)
    task_id = scheduler.submit(SubmitRequest(scene="/proj/shot.blend", renderer="blender",
                                             frames=list(range(1, args.frames + 1))), user="bench")
    for _ in range(args.frames // 2):
        finish_next("bench-node")

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "rfarm", "serve", "--port", str(port)], env=dict(os.environ),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit("rfarm serve never answered")
            time.sleep(0.1)
        client = log_in(url)
        page = client.get(f"/tasks/{task_id}")
        assert page.status_code == 200 and page.text.count("data-frame=") == args.frames
        html_s = median_s(lambda: client.get(f"/tasks/{task_id}").raise_for_status(), args.repeat)
        doc_s = median_s(lambda: client.get(f"/api/tasks/{task_id}/status").raise_for_status(), args.repeat)
        print(f"task page of {args.frames} frames ({len(page.content) / 1024:.0f} KiB), median of {args.repeat}:")
        print(f"  HTML from the server   {html_s * 1000:8.1f} ms   (goal: under 1000 ms)")
        print(f"  its JSON document      {doc_s * 1000:8.1f} ms   (baseline; the page is {html_s / doc_s:.2f}x it)")
        figures = browser_figures(url, client.cookies["rfarm_session"], task_id)
        if figures is not None:
            load_s, draw_s, show_s = figures
            print(f"  drawn in Chromium      {load_s * 1000:8.1f} ms   (navigation to load event; goal: under 1000 ms)")
            print(f"    of it parse and draw {draw_s * 1000:8.1f} ms   (the last byte to the load event)")
            print(f"  a finished frame shown {show_s * 1000:8.1f} ms   (median of 10; goal: under 1000 ms; "
                  f"the server polls events every {EVENT_POLL_S * 1000:.0f} ms)")
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
