"""End to end: the real paaf-desktop app in a real (Xvfb) window, driven over WebDriver,
rebooting a real sshd test host and verifying it came back, then the same reboot as the protect
step of an incident opened, noted, resolved and written up from the window.

Uses only the UI's stable test hooks (data-testid="..."); see README.md here.
"""

import os
import re
import shlex
import subprocess
import time

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from conftest import module_error, new_session, screen_shot

WINDOW_TITLE = "paaf — incident remote control"
NAV = [
    "nav-overview",
    "nav-step-protect",
    "nav-step-analyze",
    "nav-step-alert",
    "nav-step-fix",
    "nav-incident",
    "nav-servers",
    "nav-journal",
]
REBOOT_DEADLINE_SECS = 60


def css(testid: str, **data: str) -> str:
    return f'[data-testid="{testid}"]' + "".join(f'[data-{k}="{v}"]' for k, v in data.items())


def find(root, testid: str, **data: str) -> list[WebElement]:
    return root.find_elements(By.CSS_SELECTOR, css(testid, **data))


def wait_for(d: WebDriver, secs: float, what: str, check):
    """Polls `check(d)` until it returns something truthy; fails with `what` and any UI error."""
    try:
        return WebDriverWait(
            d, secs, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException,)
        ).until(check)
    except Exception as e:  # TimeoutException, or the app went away
        pytest.fail(f"within {secs}s: {what} ({type(e).__name__}){ui_errors(d)}")


def ui_errors(d: WebDriver) -> str:
    try:
        shown = [f"{e.get_attribute('data-code')}: {e.text}" for e in find(d, "error")]
    except WebDriverException:
        return ""
    return f"; the UI shows errors: {shown}" if shown else ""


def invoke(d: WebDriver, command: str, args: dict | None = None):
    """Calls a Tauri command the way the UI does, through the app's IPC bridge."""
    reply = d.execute_async_script(
        """
        const [cmd, args, done] = arguments;
        window.__TAURI_INTERNALS__.invoke(cmd, args)
          .then(ok => done({ok}), err => done({err}));
        """,
        command,
        args or {},
    )
    assert "err" not in reply, f"{command} failed: {reply['err']}"
    return reply["ok"]


def x_windows() -> str:
    """The X server's window tree, titles in UTF-8 (C.UTF-8 is always there; LANG may not be)."""
    return subprocess.run(
        ["xwininfo", "-root", "-tree"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    ).stdout


def test_the_tray_shows_the_state_at_a_glance_over_dbus(artifacts):
    """The tray icon as a panel sees it: the app registers with a StatusNotifierWatcher, and its
    label and menu carry the core's overview (this config has a host and no monitoring)."""
    from tray_watcher import TrayWatcher

    watcher = TrayWatcher()  # before the app starts, as a panel would be
    app = new_session()
    try:
        wait_for(app, 20, "the tray registers with the watcher", lambda _: watcher.items)
        props = watcher.item_properties()
        assert props["Id"], props
        assert props["Status"] == "Active", props
        labels = wait_for(
            app,
            20,
            "the tray menu shows the overview",
            lambda _: (lambda ls: ls if ("No monitoring configured", False) in ls else None)(
                watcher.menu_labels()
            ),
        )
        assert ("Open paaf", True) in labels and ("Quit", True) in labels, labels
        assert watcher.item_properties().get("XAyatanaLabel") == "paaf: ok"
        (artifacts / "tray-menu.txt").write_text(
            "\n".join(f"{'' if on else '(disabled) '}{label}" for label, on in labels) + "\n"
        )
    finally:
        app.quit()
        watcher.close()


def test_the_app_opens_its_window(driver, artifacts):
    assert driver.title == "paaf"
    assert driver.current_url.startswith("tauri://localhost"), (
        f"the app loads {driver.current_url}, not its embedded UI (built without "
        "tauri/custom-protocol?)"
    )
    body = wait_for(driver, 10, "the UI renders something", lambda d: d.find_element(By.TAG_NAME, "body").text.strip())
    assert body
    assert WINDOW_TITLE in x_windows(), "no X window with the app's title on the display"
    driver.save_screenshot(str(artifacts / "window.png"))
    assert screen_shot(artifacts / "screen.png"), "ImageMagick could not capture the X screen"


def test_the_ui_renders_in_the_c_locale(tmp_path, artifacts):
    """LANG=C.UTF-8 (CI, systemd units, minimal sessions): WebKitGTK then reports
    navigator.language "C", which is no valid language tag for Intl."""
    wrapper = tmp_path / "paaf-desktop-c-locale"
    wrapper.write_text(
        "#!/bin/sh\nexport LANG=C.UTF-8\nunset LC_ALL LC_MESSAGES LANGUAGE\n"
        f'exec {shlex.quote(os.environ["PAAF_DESKTOP_APP"])} "$@"\n'
    )
    wrapper.chmod(0o755)
    d = new_session(str(wrapper))
    try:
        lang = d.execute_script("return navigator.language")
        try:
            WebDriverWait(d, 10, poll_frequency=0.2).until(
                lambda d: d.find_element(By.TAG_NAME, "body").text.strip()
            )
        except Exception:
            why = module_error(d)
            d.save_screenshot(str(artifacts / "failed-c-locale.png"))
            pytest.fail(
                f"blank window with LANG=C.UTF-8 (navigator.language={lang!r}): the UI did not "
                f"mount: {why}"
            )
    finally:
        d.quit()


def test_the_app_reads_its_config_and_reaches_the_host(driver, config_path, host):
    about = invoke(driver, "about")
    assert about["config_path"] == str(config_path)
    assert about["frontend"] == "desktop"
    statuses = invoke(driver, "host_status", {"names": []})
    assert [s["name"] for s in statuses] == [host.name]
    assert statuses[0]["reachable"], f"{host.name} unreachable from the app: {statuses[0]['error']}"
    assert statuses[0]["boot_id"] == host.boot_id()


@pytest.mark.timeout(240)
def test_reboot_a_server_from_the_desktop_and_see_it_verified(driver, artifacts, host, require_ui):
    # The window opens on the real UI (the placeholder has no test hooks: skipped until it lands).
    if not require_ui and not find(driver, "nav-servers"):
        try:
            WebDriverWait(driver, 5).until(lambda d: find(d, "nav-servers"))
        except Exception:
            pytest.skip("the UI has no screens yet (no data-testid=nav-servers): placeholder UI")
    wait_for(driver, 15, "the navigation shows every PAAF step", lambda d: all(find(d, n) for n in NAV))

    # Servers: web-1 is listed as up.
    find(driver, "nav-servers")[0].click()
    row = wait_for(driver, 30, f"{host.name} is listed as up", lambda d: up_row(d, host.name))
    driver.save_screenshot(str(artifacts / "servers.png"))

    # Open it (its name links to the host page; WebKitWebDriver will not click a <tr>), reboot,
    # confirm.
    clickable(row).click()
    button = wait_for(
        driver, 15, "the host page shows the reboot button", lambda d: displayed(find(d, "reboot-button"))
    )
    before, count_before = host.boot_id(), host.reboot_count()
    button.click()
    dialog = wait_for(driver, 10, "the confirmation dialog opens", lambda d: displayed(find(d, "confirm-dialog")))
    assert find(dialog, "confirm-yes") and find(dialog, "confirm-no"), "the dialog offers yes and no"
    driver.save_screenshot(str(artifacts / "confirm.png"))
    assert host.boot_id() == before, "nothing happens before the confirmation"
    find(dialog, "confirm-yes")[0].click()
    started = time.monotonic()

    # Progress steps appear while it runs; the outcome says verified within 60 s.
    steps: list[str] = []
    result = None
    while time.monotonic() - started < REBOOT_DEADLINE_SECS:
        try:
            for s in find(driver, "progress-step"):
                name = s.get_attribute("data-step")
                if name and name not in steps:
                    steps.append(name)
            shown = find(driver, "reboot-result")
            if shown and shown[0].get_attribute("data-outcome"):
                result = shown[0]
                break
        except StaleElementReferenceException:
            pass
        time.sleep(0.2)
    took = time.monotonic() - started
    print(f"progress steps seen: {steps}; outcome after {took:.1f}s")
    assert result is not None, f"no reboot outcome within {REBOOT_DEADLINE_SECS}s{ui_errors(driver)}"
    assert steps, "no progress step was shown"
    outcome = result.get_attribute("data-outcome")
    assert outcome == "verified", f"outcome {outcome}: {result.text!r}{ui_errors(driver)}"
    driver.save_screenshot(str(artifacts / "host-after-reboot.png"))

    # The host really rebooted: new boot id, one more reboot.
    assert host.boot_id() != before, "the boot id did not change"
    assert host.reboot_count() == count_before + 1

    # Journal: the reboot is there.
    find(driver, "nav-journal")[0].click()
    rows = wait_for(driver, 15, "the journal shows the reboot", lambda d: reboot_rows(d, host.name))
    print(f"journal row: {text_of(rows[0])!r}")
    state = rows[0].get_attribute("data-state")
    assert state in (None, "succeeded"), f"the journal says the reboot {state}"
    driver.save_screenshot(str(artifacts / "journal.png"))


@pytest.mark.timeout(240)
def test_an_incident_protects_with_a_verified_reboot_and_is_written_up(driver, artifacts, host):
    """Open an incident by hand with the config's playbook (run.sh adds `web-1-stuck`, whose
    protect step reboots web-1), Protect after the one confirmation listing the step with the
    host's state now, see the step verified and the incident protected, note, see that stand
    down has nothing to reverse (a reboot cannot be undone), resolve, preview the post-mortem."""
    wait_for(driver, 15, "the navigation", lambda d: all(find(d, n) for n in NAV))
    find(driver, "nav-incident")[0].click()
    title = wait_for(driver, 15, "the form to open an incident", lambda d: displayed(find(d, "incident-title")))
    title.send_keys("web-1 stuck")
    playbook = wait_for(driver, 10, "the playbooks to choose from", lambda d: displayed(find(d, "incident-playbook")))
    playbook.find_element(By.CSS_SELECTOR, 'option[value="web-1-stuck"]').click()
    find(driver, "incident-open")[0].click()
    incident = wait_for(driver, 15, "the incident opens", lambda d: displayed(find(d, "incident")))
    assert "web-1 stuck" in incident.text
    wait_for(driver, 25, "the banner shows it on every screen", lambda d: displayed(find(d, "incident-banner")))

    before, count_before = host.boot_id(), host.reboot_count()
    find(driver, "incident-protect")[0].click()
    wait_for(driver, 30, "the protect plan", lambda d: find(d, "plan-step"))
    steps = find(driver, "plan-step")
    assert len(steps) == 1, [s.text for s in steps]
    now = find(steps[0], "plan-step-now")[0].text
    assert now.startswith("up "), f"the host's state now: {now!r}"
    driver.save_screenshot(str(artifacts / "incident-protect-plan.png"))
    assert host.boot_id() == before, "nothing happens before the confirmation"
    find(driver, "plan-run")[0].click()
    report = wait_for(
        driver, REBOOT_DEADLINE_SECS + 30, "the protect run ends", lambda d: displayed(find(d, "run-report"))
    )
    status = find(driver, "run-step")[0].get_attribute("data-status")
    assert status == "succeeded", f"the reboot step {status}: {report.text!r}{ui_errors(driver)}"
    assert host.boot_id() != before, "the boot id did not change"
    assert host.reboot_count() == count_before + 1
    wait_for(driver, 15, "the incident is protected", lambda d: find(d, "incident", phase="protected"))
    driver.save_screenshot(str(artifacts / "incident-protected.png"))
    find(driver, "plan-close")[0].click()

    find(driver, "incident-note")[0].send_keys("web-1 answers again")
    find(driver, "incident-note-add")[0].click()
    wait_for(driver, 15, "the note in the timeline", lambda d: find(d, "timeline-line", kind="note"))

    find(driver, "incident-stand-down")[0].click()
    wait_for(driver, 30, "the stand-down plan", lambda d: find(d, "run-plan", run="stand-down"))
    reversals = find(driver, "plan-step")
    assert [r.get_attribute("data-status") for r in reversals] == ["impossible"], [r.text for r in reversals]
    assert not find(driver, "plan-run")[0].is_enabled(), "nothing to run"
    find(driver, "plan-cancel")[0].click()

    find(driver, "incident-resolve")[0].click()
    dialog = wait_for(driver, 10, "the confirmation dialog", lambda d: displayed(find(d, "confirm-dialog")))
    find(dialog, "confirm-yes")[0].click()
    wait_for(driver, 15, "the form to open the next one", lambda d: displayed(find(d, "incident-open-form")))
    find(driver, "postmortem-preview")[0].click()
    markdown = wait_for(driver, 15, "the post-mortem", lambda d: displayed(find(d, "postmortem-markdown"))).text
    assert "web-1 stuck" in markdown and "Root cause" in markdown, markdown
    (artifacts / "incident-postmortem.md").write_text(markdown + "\n")
    driver.save_screenshot(str(artifacts / "incident-resolved.png"))


def displayed(elements: list[WebElement]):
    return next((e for e in elements if e.is_displayed() and e.is_enabled()), None)


def clickable(row: WebElement) -> WebElement:
    """What a person clicks to open a row: its link, else its first cell, else the row."""
    for selector in ("a", "button", "td"):
        inside = row.find_elements(By.CSS_SELECTOR, selector)
        if inside:
            return inside[0]
    return row


def up_row(d: WebDriver, name: str):
    for row in find(d, "host-row", host=name):
        status = find(row, "host-status")
        if status and status[0].text.strip().lower() == "up":
            return row
    return None


def text_of(row: WebElement) -> str:
    """A row's text, its cells separated by " | " (a row's own text runs cells together)."""
    cells = row.find_elements(By.CSS_SELECTOR, "td, th") or [row]
    return " | ".join(" ".join((c.get_property("textContent") or "").split()) for c in cells)


def reboot_rows(d: WebDriver, name: str):
    rows = [
        r
        for r in find(d, "journal-row")
        if re.search(r"\breboot\b", text := text_of(r), re.I)
        and re.search(rf"(^|\s){re.escape(name)}(\s|$)", text)
    ]
    return rows or None
