"""Fixtures of the real-window desktop test: a WebDriver session on the real paaf-desktop app
(tauri-driver + WebKitWebDriver, under Xvfb), and the sshd test host it manages.

tests/desktop/run.sh starts all of that and passes it in the environment; see README.md here.
"""

import os
import pathlib
import re
import subprocess
import time
from dataclasses import dataclass

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the desktop test through tests/desktop/run.sh", 2)
    return value


@dataclass
class Host:
    """The sshd test host (tests/peers/sshd-host.sh) the app's config names."""

    name: str
    dir: pathlib.Path
    port: int

    def boot_id(self) -> str:
        return (self.dir / "boot_id").read_text().strip()

    def reboot_count(self) -> int:
        try:
            return int((self.dir / "reboot-count").read_text().strip())
        except (OSError, ValueError):
            return 0


@pytest.fixture(scope="session")
def artifacts() -> pathlib.Path:
    path = pathlib.Path(env("PAAF_DESKTOP_ARTIFACTS"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def host() -> Host:
    return Host(
        name=env("PAAF_DESKTOP_HOST"),
        dir=pathlib.Path(env("PAAF_DESKTOP_HOST_DIR")),
        port=int(env("PAAF_DESKTOP_HOST_PORT")),
    )


@pytest.fixture(scope="session")
def config_path() -> pathlib.Path:
    return pathlib.Path(env("PAAF_CONFIG"))


@pytest.fixture(scope="session")
def require_ui() -> bool:
    """True once the real UI has landed (ui/src/screens/*.svelte): then the full flow must run."""
    return os.environ.get("PAAF_DESKTOP_REQUIRE_UI") == "1"


def new_session(application: str | None = None) -> webdriver.Remote:
    """Starts the app (or `application`, e.g. a wrapper that execs it) in a new window."""
    options = ArgOptions()
    options.set_capability("browserName", "wry")
    options.set_capability("tauri:options", {"application": application or env("PAAF_DESKTOP_APP")})
    last = None
    for _ in range(3):
        try:
            connection = RemoteConnection(
                client_config=ClientConfig(remote_server_addr=env("PAAF_DESKTOP_WEBDRIVER"), timeout=90)
            )
            driver = webdriver.Remote(command_executor=connection, options=options)
            driver.set_script_timeout(60)
            return driver
        except Exception as e:  # noqa: BLE001 - the driver may still be settling; try again
            last = e
            time.sleep(1)
    raise last


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def driver(request, artifacts):
    """A fresh app: each test starts the real app in its own window and quits it after."""
    d = new_session()
    yield d
    report = getattr(request.node, "report_call", None)
    try:
        if report is not None and report.failed:
            save_failure(d, artifacts, request.node.name)
    finally:
        d.quit()


def save_failure(d, artifacts: pathlib.Path, name: str) -> None:
    stem = artifacts / f"failed-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"
    try:
        d.save_screenshot(f"{stem}.png")
        pathlib.Path(f"{stem}.html").write_text(d.page_source)
        for e in d.find_elements(By.CSS_SELECTOR, '[data-testid="error"]'):
            print(f"UI error shown: code={e.get_attribute('data-code')} text={e.text!r}")
        if not d.execute_script("return document.getElementById('app')?.children.length ?? 1"):
            print(f"the UI did not mount: {module_error(d)}")
        print(f"failure screenshot and page: {stem}.png, {stem}.html")
    except WebDriverException as e:
        print(f"could not save the failure state: {e}")


def module_error(d) -> str | None:
    """Why the UI's entry module failed, if it did: WebKitWebDriver has no console log, so
    this imports the module once more (a new URL, so it runs again) and returns the error."""
    return d.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const src = document.querySelector('script[type=module]')?.src;
        if (!src) return done('no module script in the page');
        import(`${src}?again=${Date.now()}`).then(() => done(null), e => done(`${e}\n${e?.stack ?? ''}`));
        """
    )


def screen_shot(path: pathlib.Path) -> bool:
    """The whole X screen (the real window as the X server shows it), with ImageMagick."""
    result = subprocess.run(
        ["import", "-window", "root", str(path)], capture_output=True, timeout=30, check=False
    )
    return result.returncode == 0
