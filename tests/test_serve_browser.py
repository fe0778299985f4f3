"""The app in Debian's Chromium (playwright, no `playwright install`): explore, train, exercises, keyboard only.

Skips, saying why, without Chromium or playwright. The server is ``chainrule serve`` on a free loopback
port, stopped at the end. ``CHAINRULE_SHOTS=docs`` keeps the screenshots (1366×768 and 390 px wide) there.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

pytest.importorskip("uvicorn", reason="chainrule serve needs the serve extra (pip install -e '.[serve]')")

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SRC = str(Path(__file__).resolve().parents[1] / "src")
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("CHAINRULE_SHOTS")


@pytest.fixture(scope="module")
def base_url():
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen([sys.executable, "-m", "chainrule.cli", "serve", "--no-browser", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = process.stdout.readline().strip()
    yield url
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set $CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the Python driver 'playwright' is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport=LAPTOP)
    opened = context.new_page()
    errors = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(base_url)
    opened.wait_for_selector("#summary tr[data-name='∂L/∂w']")
    yield opened
    context.close()
    assert not errors


def shot(page, tmp_path, name):
    folder = Path(SHOTS) if SHOTS else tmp_path
    path = folder / f"serve-{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000


def summary_value(page, name) -> float:
    return float(page.get_attribute(f"#summary tr[data-name='{name}'] td", "data-value"))


def test_editing_w_changes_the_gradient_and_the_update(page, tmp_path):
    assert summary_value(page, "∂L/∂w") == pytest.approx(0.29256050705391523)
    # beside the exact value, the number the page's own line writes (carried by hand): the two never clash
    assert page.inner_text("#summary tr[data-name='w_new'] td.worked") == "0.4708"
    assert page.inner_text("#summary tr[data-name='loss L'] td.worked") == "0.387"
    shot(page, tmp_path, "explore-laptop")
    page.fill("#given-0", "0.6")
    page.wait_for_selector("#summary tr[data-name='w_new'] td[data-value^='0.57']")
    y_hat = 1 / (1 + math.exp(-0.6))
    gradient = 2 * y_hat * y_hat * (1 - y_hat)
    assert summary_value(page, "∂L/∂w") == pytest.approx(gradient)
    assert summary_value(page, "w_new") == pytest.approx(0.6 - 0.1 * gradient)
    frame = page.frame_locator("#explanation-frame")
    frame.locator("#status").wait_for()
    assert "0.6" in frame.locator("[data-node='w']").first.inner_text()
    assert '"set"' in unquote(page.url)  # the state is in the URL


def test_stepping_forward_and_back_in_the_page(page):
    frame = page.frame_locator("#explanation-frame")
    status = frame.locator("#status")
    before = status.inner_text()
    frame.locator("#next").click()
    frame.locator("#next").click()
    after = status.inner_text()
    assert after != before
    frame.locator("#prev").click()
    assert status.inner_text() not in (after,)


def test_a_link_reproduces_the_explorer(browser, base_url, page):
    page.fill("#given-0", "0.7")
    page.wait_for_selector("#summary tr[data-name='w_new'] td[data-value^='0.67']")
    link = page.url
    assert "0.7" in unquote(link)
    other = browser.new_page(viewport=LAPTOP)
    other.goto(link)
    other.wait_for_selector("#summary tr[data-name='w_new'] td[data-value^='0.67']")
    assert other.input_value("#given-0") == "0.7"
    other.close()


def test_training_moons_lowers_the_loss_and_moves_the_boundary(page, tmp_path):
    page.click("#tab-train")
    page.fill("#tr-steps", "100")
    page.click("#tr-step")
    page.wait_for_selector("#train-status[data-step='1']")
    first_loss = float(page.get_attribute("#train-status", "data-loss"))
    picture = page.evaluate("document.querySelector('#boundary').toDataURL()")
    page.click("#tr-pause")  # resume
    page.wait_for_selector("#train-status[data-done='true']", timeout=60_000)
    assert page.get_attribute("#train-status", "data-step") == "100"
    assert float(page.get_attribute("#train-status", "data-loss")) < 0.8 * first_loss
    assert page.evaluate("document.querySelector('#boundary').toDataURL()") != picture
    page.fill("#tr-sample", "7")
    page.click("#tr-explain")
    page.wait_for_selector("#sample-summary tr[data-name='loss L']")
    assert "Sample 7 of the train set at step 100" in page.inner_text("#sample-summary")
    page.frame_locator("#sample-frame").locator("#next").wait_for()
    shot(page, tmp_path, "train-laptop")


def test_exercises_are_checked_in_the_browser(page, tmp_path):
    page.click("#tab-exercises")
    page.click("#ex-new")
    page.wait_for_selector("#worksheet input[data-step='z']")
    page.fill("#worksheet input[data-step='z']", "0.5")
    page.fill("#worksheet input[data-step='ŷ']", "0.7")
    page.click("#ex-check")
    page.wait_for_selector("#worksheet input[data-step='ŷ'][data-status='wrong']")
    assert page.get_attribute("#worksheet input[data-step='z']", "data-status") == "right"
    assert "The first wrong step is 'ŷ'" in page.inner_text("#ex-report")


def test_the_app_works_by_keyboard_alone(page):
    page.focus("#tab-explore")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#tab-train", "aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "tab-train"
    page.fill("#tr-steps", "30")  # typing a value is keyboard work too; the rest is Tab and Enter
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "tr-start":
            break
    assert page.evaluate("document.activeElement.id") == "tr-start"
    page.keyboard.press("Enter")
    page.wait_for_selector("#train-status[data-done='true']", timeout=60_000)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "tr-explain":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#sample-summary tr[data-name='loss L']")


def test_on_a_phone_the_numbers_fit_the_width(browser, base_url, tmp_path):
    context = browser.new_context(viewport=PHONE)
    phone = context.new_page()
    phone.goto(base_url)
    phone.wait_for_selector("#summary tr[data-name='∂L/∂w']")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert phone.evaluate("document.getElementById('explore-settings').open") is False
    shot(phone, tmp_path, "explore-phone")
    phone.click("#tab-train")
    phone.fill("#tr-steps", "60")
    phone.click("#tr-start")
    phone.wait_for_selector("#train-status[data-done='true']", timeout=60_000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.locator("#train-status").scroll_into_view_if_needed()
    shot(phone, tmp_path, "train-phone")
    context.close()
