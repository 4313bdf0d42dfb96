"""The dashboard in a real browser: Debian's Chromium driven by Playwright, a real ``rfarm serve``,
a real render node (``rfarm worker --burst``) rendering a small Blender scene on the farm's side.

Screenshots of each page are saved under the test's tmp path; with
``RFARM_DASHBOARD_SCREENSHOTS=DIR`` they are copied to ``DIR`` too (how
``docs/screenshots/`` is made).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from rfarm_testlib import clean_env, run_cli, run_cli_process
from webtools import PASSWORD

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
#: how long a page gets to show what the farm did (the contract is within a second; a loaded CI machine is slower)
LIVE_MS = 15_000
RENDER_MS = 240_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (Playwright's own browser download cannot work here)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(**context_options)``: a page in a browser context of its own (its own cookies)."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = chromium.new_context(**options)
        context.set_default_timeout(LIVE_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


class Site:
    """A farm on this machine served by ``rfarm serve``, with users who have passwords."""

    def __init__(self, tmp_path: Path, start_server: Callable[..., Any]) -> None:
        self.tmp_path = tmp_path
        self.env = clean_env({"RFARM_HOME": str(tmp_path / "farm"), "RFARM_USER": "boss"})
        self.tokens: dict[str, str] = {}
        self.add_user("boss", "admin")  # the first admin, on the server's machine
        self.server = start_server(self.env)
        self.url = self.server.url

    def add_user(self, name: str, role: str) -> None:
        proc = subprocess.run([sys.executable, "-m", "rfarm", "users", "add", name, "--role", role, "--password-stdin",
                               "--json"], input=PASSWORD + "\n", env=self.env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        self.tokens[name] = json.loads(proc.stdout)["token"]

    def artist_env(self, name: str) -> dict[str, str]:
        home = self.tmp_path / f"artist-{name}"
        home.mkdir(exist_ok=True)
        return clean_env({"RFARM_HOME": str(home), "RFARM_SERVER_URL": self.url, "RFARM_TOKEN": self.tokens[name]})

    def submit(self, name: str, scene: Path, frames: str) -> int:
        """``rfarm submit`` from the artist's machine, through the server."""
        code, out, err = run_cli("submit", str(scene), "--frames", frames, "--upload", "--json",
                                 env=self.artist_env(name))
        assert code == 0, err
        return int(json.loads(out)["task_id"])

    def api(self, name: str, method: str, path: str) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {self.tokens[name]}"},
                             timeout=10)

    def status(self, name: str, task_id: int) -> dict[str, Any]:
        answer = self.api(name, "GET", f"/api/tasks/{task_id}/status")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def has_thumbnails(self) -> bool:
        """Whether this server serves frame thumbnails (a route of their own, added beside the dashboard)."""
        paths = httpx.get(self.url + "/api/openapi.json", timeout=10).json()["paths"]
        return any(p.startswith("/api/tasks/{") and p.endswith("/thumbnail") for p in paths)


@pytest.fixture
def site(tmp_path: Path, start_server: Callable[..., Any]) -> Site:
    return Site(tmp_path, start_server)


@pytest.fixture
def scene(tmp_path: Path, make_blend: Callable[..., Path]) -> Path:
    return make_blend(tmp_path / "project" / "shot.blend", samples=1, frames=3, size=16)


def log_in(page: Any, site: Site, name: str) -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site.url + "/tasks")


def screenshot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / "screenshots" / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("RFARM_DASHBOARD_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(keep) / path.name)


def frame_statuses(page: Any) -> dict[str, str]:
    return dict(page.eval_on_selector_all("li[data-frame]", "els => els.map(e => [e.dataset.frame, e.dataset.status])"))


def test_an_artist_logs_in_and_watches_frames_render_live(
    site: Site, scene: Path, new_page: Callable[..., Any], tmp_path: Path,
) -> None:
    site.add_user("alice", "artist")
    task_id = site.submit("alice", scene, "1-3")
    page = new_page(viewport={"width": 1280, "height": 800})
    log_in(page, site, "alice")
    row = page.locator(f'tr[data-task="{task_id}"]')
    assert row.count() == 1 and row.get_attribute("data-status") == "queued"
    screenshot(page, tmp_path, "tasks-queued")

    page.goto(f"{site.url}/tasks/{task_id}")
    assert frame_statuses(page) == {"1": "queued", "2": "queued", "3": "queued"}
    page.wait_for_selector("#live:not([hidden])")  # subscribed to the event stream
    page.evaluate("window.notReloaded = true")
    worker = subprocess.Popen([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", "n1"], env=site.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        page.wait_for_function(
            "() => [...document.querySelectorAll('li[data-frame]')].every(e => e.dataset.status === 'done')",
            timeout=RENDER_MS)
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, out
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert page.evaluate("window.notReloaded") is True, "the frames turned done without a reload"
    page.wait_for_selector('#task-status .state:text-is("done")')
    assert page.locator("#task-progress .fraction").inner_text() == "3/3"
    assert page.locator(".summary .counts").all_inner_texts() == ["3 done"]
    for frame in page.locator("li[data-frame]").all():
        assert frame.locator(".word").inner_text() == "done"
        assert frame.locator(".node").inner_text() == "n1"
        img = frame.locator("img")
        assert img.get_attribute("src") == f"/api/tasks/{task_id}/frames/{frame.get_attribute('data-frame')}/thumbnail"
    if site.has_thumbnails():
        page.wait_for_function(
            "() => [...document.querySelectorAll('li[data-frame] img')].every(i => i.complete && i.naturalWidth > 0)")
    assert site.status("alice", task_id)["status"] == "done"
    screenshot(page, tmp_path, "task-done")

    page.goto(site.url + "/tasks")
    assert page.locator(f'tr[data-task="{task_id}"]').get_attribute("data-status") == "done"
    assert page.locator(f'tr[data-task="{task_id}"] .fraction').inner_text() == "3/3"
    screenshot(page, tmp_path, "tasks")
    page.goto(site.url + "/nodes")
    assert page.locator('tr[data-node="n1"]').count() == 1
    assert page.get_by_role("button", name="Disable").count() == 0, "an artist does not switch nodes"
    screenshot(page, tmp_path, "nodes")
    page.goto(f"{site.url}/tasks/{task_id}/frames/1/log")
    assert page.locator("pre.log").inner_text().strip()

    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=1)
    log_in(phone, site, "alice")
    phone.goto(f"{site.url}/tasks/{task_id}")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    screenshot(phone, tmp_path, "task-phone")


def test_cancel_asks_first_and_the_api_agrees(site: Site, scene: Path, new_page: Callable[..., Any],
                                             tmp_path: Path) -> None:
    site.add_user("alice", "artist")
    task_id = site.submit("alice", scene, "1-3")
    page = new_page()
    log_in(page, site, "alice")
    page.goto(f"{site.url}/tasks/{task_id}")
    page.wait_for_selector("#live:not([hidden])")
    cancel = page.get_by_role("button", name="Cancel task")
    questions: list[str] = []

    def dismiss(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    cancel.click()
    page.wait_for_timeout(500)
    assert questions and f"Cancel task {task_id}?" in questions[0]
    assert site.status("alice", task_id)["status"] == "queued", "a dismissed confirmation changes nothing"

    page.once("dialog", lambda dialog: dialog.accept())
    cancel.focus()
    page.keyboard.press("Enter")  # the controls work from the keyboard
    page.wait_for_selector('#task-status .state:text-is("cancelled")')
    assert site.status("alice", task_id)["status"] == "cancelled"
    assert set(frame_statuses(page).values()) == {"cancelled"}
    assert page.get_by_role("button", name="Cancel task").is_hidden()
    screenshot(page, tmp_path, "task-cancelled")


def test_the_page_catches_up_after_the_server_restarts(site: Site, scene: Path, new_page: Callable[..., Any]) -> None:
    site.add_user("alice", "artist")
    task_id = site.submit("alice", scene, "1-3")
    page = new_page()
    log_in(page, site, "alice")
    page.goto(f"{site.url}/tasks/{task_id}")
    page.wait_for_selector("#live:not([hidden])")
    page.evaluate("window.notReloaded = true")
    assert site.server.stop() == 0
    page.wait_for_selector("#live[hidden]", state="attached")
    code, _, err = run_cli_process("cancel", str(task_id), env={**site.env, "RFARM_USER": "alice"})
    assert code == 0, err  # changed while no server was there to tell the page
    log = (site.tmp_path / "serve-again.log").open("wb")
    again = subprocess.Popen([sys.executable, "-m", "rfarm", "serve", "--port", str(site.server.port)], env=site.env,
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        page.wait_for_selector('#task-status .state:text-is("cancelled")', timeout=60_000)
        assert set(frame_statuses(page).values()) == {"cancelled"}
        assert page.evaluate("window.notReloaded") is True
    finally:
        again.terminate()
        again.wait(20)
        log.close()


def test_a_viewer_sees_no_controls_and_their_posts_are_refused(site: Site, scene: Path,
                                                               new_page: Callable[..., Any]) -> None:
    site.add_user("vic", "artist")
    task_id = site.submit("vic", scene, "1-2")
    code, _, err = run_cli_process("users", "role", "vic", "viewer", env=site.env)
    assert code == 0, err
    page = new_page()
    log_in(page, site, "vic")
    page.goto(f"{site.url}/tasks/{task_id}")
    assert len(frame_statuses(page)) == 2
    for label in ("Cancel task", "Pause", "Resume", "Retry failed frames"):
        assert page.get_by_role("button", name=label).count() == 0
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = page.request.post(f"{site.url}/tasks/{task_id}/cancel", form={"csrf": csrf}, max_redirects=0)
    assert answer.status == 403
    answer = page.request.post(f"{site.url}/api/tasks/{task_id}/cancel", headers={"X-CSRF-Token": csrf})
    assert answer.status == 403 and answer.json()["error"] == "NotAllowedError"
    assert site.status("vic", task_id)["status"] == "queued"


def test_another_artists_task_is_not_found(site: Site, scene: Path, new_page: Callable[..., Any]) -> None:
    site.add_user("alice", "artist")
    site.add_user("bob", "artist")
    task_id = site.submit("alice", scene, "1-2")
    page = new_page()
    log_in(page, site, "bob")
    assert page.locator(f'tr[data-task="{task_id}"]').count() == 0
    answer = page.goto(f"{site.url}/tasks/{task_id}")
    assert answer is not None and answer.status == 404
    assert page.locator("li[data-frame]").count() == 0
    assert page.request.get(f"{site.url}/api/tasks/{task_id}/status").status == 404


def test_a_post_without_the_csrf_token_is_refused_and_logout_ends_the_session(
    site: Site, scene: Path, new_page: Callable[..., Any],
) -> None:
    site.add_user("alice", "artist")
    task_id = site.submit("alice", scene, "1-2")
    page = new_page()
    log_in(page, site, "alice")
    for url, options in ((f"/tasks/{task_id}/cancel", {"form": {"x": "1"}}), (f"/api/tasks/{task_id}/cancel", {})):
        answer = page.request.post(site.url + url, max_redirects=0, **options)
        assert answer.status == 403, (url, answer.text())
    assert site.status("alice", task_id)["status"] == "queued"

    cookies = page.context.cookies()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(site.url + "/login")
    page.goto(site.url + "/tasks")
    assert page.url.startswith(site.url + "/login")
    replay = new_page()
    replay.context.add_cookies(cookies)  # a copy of the cookie kept from before the logout
    replay.goto(site.url + "/tasks")
    assert replay.url.startswith(site.url + "/login")
    assert replay.request.get(site.url + "/api/whoami").status == 401


#: a child bpy process turns a PNG scene into one that renders OpenEXR (the renderer keeps the scene's format)
TO_EXR = """
import sys, bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
bpy.context.scene.render.image_settings.file_format = "OPEN_EXR"
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[2])
"""


def exr_scene(png_scene: Path, path: Path) -> Path:
    proc = subprocess.run([sys.executable, "-c", TO_EXR, str(png_scene), str(path)], env=clean_env(),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0 and path.is_file(), proc.stderr[-3000:]
    return path


def run_worker(site: Site, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "rfarm", "worker", "--burst", "--name", name], env=site.env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)


def finish(worker: subprocess.Popen[str]) -> str:
    try:
        out, _ = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert worker.returncode == 0, out
    return out


def test_an_exr_task_shows_thumbnails_too(site: Site, scene: Path, new_page: Callable[..., Any],
                                          tmp_path: Path) -> None:
    exr = exr_scene(scene, tmp_path / "project" / "shot-exr.blend")
    site.add_user("alice", "artist")
    task_id = site.submit("alice", exr, "1-2")
    finish(run_worker(site, "n1"))
    doc = site.status("alice", task_id)
    assert doc["status"] == "done"
    assert all(o.endswith(".exr") for f in doc["frames"] for o in f["outputs"]), doc["frames"]
    page = new_page(viewport={"width": 1280, "height": 800})
    log_in(page, site, "alice")
    page.goto(f"{site.url}/tasks/{task_id}")
    assert frame_statuses(page) == {"1": "done", "2": "done"}
    page.wait_for_function(
        "() => { const i = [...document.querySelectorAll('li[data-frame] img')];"
        " return i.length === 2 && i.every(x => x.complete && x.naturalWidth > 0); }")
    answer = site.api("alice", "GET", f"/api/tasks/{task_id}/frames/1/thumbnail")
    assert answer.status_code == 200 and answer.headers["content-type"] in {"image/jpeg", "image/png", "image/webp"}
    screenshot(page, tmp_path, "task-exr")


def render_processes(site: Site) -> list[psutil.Process]:
    """This farm's render processes (Blender's script, given a scene under the farm's home), wherever they run."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if "blender_script.py" in line and str(site.tmp_path) in line:
            found.append(proc)
    return found


def test_cancelling_a_running_task_leaves_no_render_process(
    site: Site, make_blend: Callable[..., Path], new_page: Callable[..., Any], tmp_path: Path,
) -> None:
    slow = make_blend(tmp_path / "project" / "slow.blend", samples=4096, frames=2, size=256, threads=1)
    site.add_user("alice", "artist")
    task_id = site.submit("alice", slow, "1-2")
    page = new_page()
    log_in(page, site, "alice")
    page.goto(f"{site.url}/tasks/{task_id}")
    page.wait_for_selector("#live:not([hidden])")
    worker = run_worker(site, "n1")
    try:
        page.wait_for_selector('li[data-frame][data-status="running"]', timeout=RENDER_MS)
        renders: list[psutil.Process] = []
        for _ in range(120):
            renders = render_processes(site)
            if renders:
                break
            page.wait_for_timeout(500)
        assert renders, "the running frame has a render process"
        assert any(p.pid in {c.pid for c in psutil.Process(worker.pid).children(recursive=True)} for p in renders)
        screenshot(page, tmp_path, "task-running")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Cancel task").click()
        page.wait_for_selector('#task-status .state:text-is("cancelled")')
        assert set(frame_statuses(page).values()) == {"cancelled"}
        _, alive = psutil.wait_procs(renders, timeout=60)
        assert not alive, f"render processes left after the cancel: {[p.pid for p in alive]}"
        finish(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert render_processes(site) == []
    assert site.status("alice", task_id)["status"] == "cancelled"


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "turntable.blend"


def test_an_artist_submits_the_example_scene_from_the_page_and_watches_it_render(
    site: Site, new_page: Callable[..., Any], tmp_path: Path,
) -> None:
    site.add_user("alice", "artist")
    page = new_page(viewport={"width": 1280, "height": 900})
    log_in(page, site, "alice")
    page.get_by_role("link", name="Submit").click()
    page.wait_for_url(site.url + "/submit")
    page.get_by_label("Scene file").set_input_files(str(EXAMPLE))
    page.wait_for_selector("#submit-form:not([hidden])", timeout=60_000)
    assert page.locator("#transfer").get_attribute("data-sent") == "true"
    assert "Uploaded turntable.blend" in page.locator("#transfer-step").inner_text()
    assert page.locator("#settings").inner_text().count("shotCam") == 1
    assert page.get_by_label("Frames", exact=True).input_value() == "1-8", "the scene's range, from its analysis"
    md5 = page.locator("#f-md5").input_value()
    assert md5 == hashlib.md5(EXAMPLE.read_bytes()).hexdigest(), "the page's own MD5"
    page.get_by_label("Frames", exact=True).fill("1-2")
    page.get_by_label("Test frames").fill("2")
    page.get_by_label("Priority").select_option("high")
    screenshot(page, tmp_path, "submit")
    page.get_by_role("button", name="Submit the task").click()
    page.wait_for_url(f"{site.url}/tasks/*")
    task_id = int(page.url.rsplit("/", 1)[1])
    assert frame_statuses(page) == {"1": "queued", "2": "queued"}
    assert page.locator('li[data-frame="2"] .tag').inner_text() == "test"
    page.wait_for_selector("#live:not([hidden])")
    worker = run_worker(site, "n1")
    try:
        page.wait_for_function(
            "() => [...document.querySelectorAll('li[data-frame]')].every(e => e.dataset.status === 'done')",
            timeout=RENDER_MS)
    finally:
        finish(worker)
    page.wait_for_function(
        "() => [...document.querySelectorAll('li[data-frame] img')].every(i => i.complete && i.naturalWidth > 0)")
    doc = site.status("alice", task_id)
    assert doc["status"] == "done" and [f["frame"] for f in doc["frames"] if f["is_test"]] == [2]
    page.locator("#task-details summary").click()
    assert page.locator('#task-details tr[data-path$="turntable.blend"]').get_attribute("data-reused") == "false"
    page.get_by_role("link", name="Contact sheet").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.sheet li[data-frame] img')].filter(i => i.complete && i.naturalWidth > 0)"
        ".length === 2")

    page.goto(site.url + "/submit")  # the same scene again: the farm holds it, so nothing is sent
    page.get_by_label("Scene file").set_input_files(str(EXAMPLE))
    page.wait_for_selector("#submit-form:not([hidden])", timeout=60_000)
    assert page.locator("#transfer").get_attribute("data-sent") == "false"
    assert "already stored" in page.locator("#transfer-step").inner_text()


def test_the_pages_md5_matches_pythons(site: Site, new_page: Callable[..., Any]) -> None:
    site.add_user("alice", "artist")
    page = new_page()
    log_in(page, site, "alice")
    page.goto(site.url + "/submit")
    for size in (0, 3, 55, 56, 64, 65, 1000, 5 * 1024 * 1024 + 7):
        data = bytes((i * 7 + size) % 251 for i in range(size))
        got = page.evaluate("""async ([size]) => {
            const bytes = new Uint8Array(size);
            for (let i = 0; i < size; i++) bytes[i] = (i * 7 + size) % 251;
            return rfarmMD5.ofFile(new Blob([bytes]));
        }""", [size])
        assert got == hashlib.md5(data).hexdigest(), size


def test_the_farms_pages_in_the_browser(site: Site, scene: Path, new_page: Callable[..., Any], tmp_path: Path) -> None:
    site.add_user("alice", "artist")
    task_id = site.submit("alice", scene, "1-2")
    finish(run_worker(site, "n1"))
    boss = new_page(viewport={"width": 1280, "height": 900})
    log_in(boss, site, "boss")
    for name, heading in (("stats", "The farm"), ("users", "Users and tokens"), ("audit", "Who did what")):
        boss.get_by_role("navigation", name="Main").get_by_role("link", name=name.capitalize()).click()
        boss.wait_for_url(f"{site.url}/{name}")
        assert boss.get_by_role("heading", level=1).inner_text() == heading
        screenshot(boss, tmp_path, name)
        if name == "users":
            assert boss.locator('tr[data-user="alice"]').count() == 1
    alice = new_page(viewport={"width": 1280, "height": 800})
    log_in(alice, site, "alice")
    alice.goto(site.url + "/files")
    assert alice.locator(f'tr[data-uses="1"] a[href="/tasks/{task_id}"]').count() == 1
    screenshot(alice, tmp_path, "files")
    alice.goto(site.url + "/stats")
    assert alice.locator("figure svg.chart").count() == 5
    assert alice.get_by_role("link", name="Audit").count() == 0
    assert alice.request.get(site.url + "/audit").status == 403
