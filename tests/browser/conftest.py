"""A real browser on the console: Debian's chromium, headless, driven by Selenium against the live server.

Every test here is marked ``browser`` (``make browser``; CI runs them as their own bounded step). They
skip, saying why, only where chromium or chromedriver is not installed. Screenshots go to
``tests/browser/screens/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SCREENS = Path(__file__).resolve().parent / "screens"
CHROMEDRIVER = "/usr/bin/chromedriver"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chrome():
    """A headless chromium (phone-sized windows come from ``set_window_size``); closed after the test."""
    driver = _launch()
    yield driver
    driver.quit()


@pytest.fixture
def chrome_with_camera(tmp_path):
    """``chrome_with_camera(frame)``: a headless chromium whose camera shows ``frame`` (rows of grey levels), allowed
    without asking; closed after the test."""
    drivers = []

    def launch(frame: list[bytes]):
        video = tmp_path / "camera.y4m"
        video.write_bytes(_y4m(frame))
        drivers.append(_launch("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                               f"--use-file-for-fake-video-capture={video}"))
        return drivers[-1]

    yield launch
    for driver in drivers:
        driver.quit()


def _launch(*extra: str):
    binary = _chromium()
    if binary is None or not Path(CHROMEDRIVER).exists():
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must download nothing
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--lang=en-US", *extra):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    return driver


def _y4m(frame: list[bytes]) -> bytes:
    """One greyscale frame as a YUV4MPEG2 (4:2:0) video, which chromium's fake camera plays in a loop."""
    height, width = len(frame), len(frame[0])
    chroma = bytes([128]) * ((width // 2) * (height // 2) * 2)
    return f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + b"FRAME\n" + b"".join(frame) + chroma


@pytest.fixture
def screenshot(request):
    """``screenshot(driver, name)`` saves the page as tests/browser/screens/<test module>-<name>.png."""
    SCREENS.mkdir(exist_ok=True)

    def take(driver, name: str) -> Path:
        module = Path(str(request.node.fspath)).stem.removeprefix("test_")
        path = SCREENS / f"{module}-{name}.png"
        driver.save_screenshot(str(path))
        return path

    return take
