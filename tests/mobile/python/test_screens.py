"""The screen models through the Python bindings, as an app uses them: subscribe a listener,
act through the intents, observe the states it receives. Against a real sshd host and a real
Unleash (tests/peers)."""

import base64
import queue
import time
import zlib

import paaf
from conftest import MapStore, config_text, open_on_unleash, run, trusted

Code = paaf.ErrorCode


class Seen:
    """A listener of any screen: each state it receives goes to a queue."""

    def __init__(self):
        self.states = queue.Queue()

    def on_state(self, state):
        self.states.put(state)

    def until(self, what, wanted, timeout=90.0):
        last = None
        try:
            while True:
                state = self.states.get(timeout=timeout)
                if wanted(state):
                    return state
                last = state
        except queue.Empty:
            raise AssertionError(f"no state with {what}; the last one: {last}") from None


def listen(screen, kind):
    """Subscribes a Seen listener to `screen` (kind: Fix, Protect, ...); it and its handle."""
    listener = type(f"Seen{kind}", (Seen, getattr(paaf, f"{kind}Listener")), {})()
    return listener, screen.subscribe(listener)


def test_onboarding_never_crashes_on_a_bad_config_and_imports_a_pasted_one(tmp_path):
    path = tmp_path / "paaf.toml"
    path.write_text('[[hosts]]\nname = 3\n')
    screen = paaf.OnboardingScreen(str(path), MapStore(), "test-phone")
    seen, _sub = listen(screen, "Onboarding")
    invalid = seen.until("the invalid stage", lambda s: s.stage == paaf.ConfigStage.INVALID)
    assert invalid.error.code == Code.CONFIG and screen.paaf() is None

    screen.import_toml("not [toml")
    refused = seen.until("the refused import", lambda s: s.error and "line" in s.error.message)
    assert refused.stage == paaf.ConfigStage.INVALID
    assert path.read_text() == '[[hosts]]\nname = 3\n'

    screen.import_toml(config_text())
    empty = seen.until("the empty stage", lambda s: s.stage == paaf.ConfigStage.EMPTY)
    assert empty.hosts == 0 and empty.error is None
    assert screen.paaf().hosts() == []


def test_onboarding_imports_a_qr_payload_and_refuses_one_that_is_not_a_config(tmp_path):
    path = tmp_path / "paaf.toml"
    screen = paaf.OnboardingScreen(str(path), MapStore(), "test-phone")
    seen, _sub = listen(screen, "Onboarding")
    seen.until("the empty stage", lambda s: s.stage == paaf.ConfigStage.EMPTY)

    screen.import_qr("https://example.com/")
    refused = seen.until("the refused payload", lambda s: s.error is not None)
    assert refused.error.code == Code.INVALID_INPUT and "paaf config qr" in refused.error.message
    assert refused.stage == paaf.ConfigStage.EMPTY

    # The documented format, made here independently: "paaf-config:1:" + base64url (no
    # padding) of the zlib-compressed TOML.
    toml = 'operator = "qr"\n[[monitoring]]\nname = "m"\ntype = "prometheus"\nurl = "http://127.0.0.1:9"\n'
    packed = base64.urlsafe_b64encode(zlib.compress(toml.encode())).decode().rstrip("=")
    screen.import_qr(f"paaf-config:1:{packed}\n")
    ready = seen.until("the ready stage", lambda s: s.stage == paaf.ConfigStage.READY)
    assert ready.monitoring == 1 and ready.error is None
    assert path.read_text() == toml


def test_fix_reboots_after_the_confirmation_with_progress_and_the_journal_shows_it(host):
    p, _, _ = trusted(host)
    fix = p.fix_screen()
    seen, sub = listen(fix, "Fix")
    listed = seen.until("web-1 up", lambda s: any(m.up for m in s.machines))
    [web1] = listed.machines
    assert (web1.kind, web1.status, web1.actions) == (
        paaf.MachineKind.HOST,
        "up",
        [paaf.MachineAction.REBOOT],
    )

    fix.ask("web-1", paaf.MachineAction.REBOOT)
    asked = seen.until("the confirmation", lambda s: s.asking is not None).asking
    assert asked.question.startswith("Reboot web-1"), asked.question
    boot = host.boot_id()
    fix.confirm()
    done = seen.until("the end", lambda s: s.running is not None and s.running.finished)
    assert done.running.verified and done.running.error is None, done.running
    assert len(done.running.progress) >= 3
    assert host.boot_id() != boot

    journal = p.journal_screen()
    rows, _rows_sub = listen(journal, "Journal")
    journal.filter("web-1")
    shown = rows.until("web-1's reboot", lambda s: s.target == "web-1" and s.actions)
    assert shown.actions[0].kind == paaf.ActionKind.REBOOT
    assert shown.actions[0].state == paaf.ActionState.SUCCEEDED

    # After cancel() the listener hears nothing more (what was sent before still arrives).
    sub.cancel()
    time.sleep(0.5)
    while not seen.states.empty():
        seen.states.get()
    fix.refresh()
    time.sleep(2.0)
    assert seen.states.empty()


def test_fix_runs_a_dangerous_runbook_only_with_its_name_typed_and_a_command(host):
    p, _, _ = trusted(host)
    fix = p.fix_screen()
    seen, _sub = listen(fix, "Fix")
    listed = seen.until("web-1 up", lambda s: any(m.up for m in s.machines))
    assert listed.machines[0].runs_commands

    fix.show_runbooks("web-1")
    books = seen.until("the runbooks", lambda s: s.runbooks is not None).runbooks
    assert books.host == "web-1"
    assert [(b.name, b.dangerous) for b in books.runbooks][:2] == [
        ("__wipe-cache", True),
        ("check-disk", False),
    ]

    def ended(what):
        return seen.until(
            what, lambda s: s.command_running is not None and s.command_running.finished
        ).command_running

    fix.ask_runbook("__wipe-cache")
    ask = seen.until("the confirmation", lambda s: s.command_asking is not None).command_asking
    assert ask.typed_name == "__wipe-cache" and not ask.ready
    fix.type_confirmation("wipe")
    seen.until("typed", lambda s: s.command_asking and s.command_asking.typed == "wipe")
    fix.confirm_command()
    refused = ended("the refusal")
    assert refused.error.code == Code.CONFIRMATION_REQUIRED and refused.output is None

    fix.ask_runbook("__wipe-cache")
    seen.until("the confirmation", lambda s: s.command_asking is not None)
    fix.type_confirmation("__wipe-cache")
    seen.until("ready", lambda s: s.command_asking and s.command_asking.ready)
    fix.confirm_command()
    run_ = ended("the runbook's end")
    assert run_.succeeded and run_.exit_code == 0, run_
    assert "cache wiped" in run_.output.stdout and not run_.output.stdout_truncated

    fix.ask_exec("web-1", "echo out; echo err >&2; exit 5")
    ask = seen.until("the confirmation", lambda s: s.command_asking is not None).command_asking
    assert ask.kind == paaf.CommandKind.EXEC and ask.ready and ask.typed_name is None
    fix.confirm_command()
    run_ = ended("the command's end")
    assert not run_.succeeded and run_.exit_code == 5
    assert (run_.output.stdout, run_.output.stderr) == ("out\n", "err\n")
    assert run_.outcome.startswith("exit code 5")


def test_protect_asks_naming_flag_environment_and_service_then_undoes(unleash):
    p = open_on_unleash(unleash)
    protect = p.protect_screen()
    seen, _sub = listen(protect, "Protect")
    protect.search("checkout")
    found = seen.until(
        "the flag", lambda s: not s.busy and s.query == "checkout" and s.services and s.services[0].flags
    )
    assert [f.key for f in found.services[0].flags] == ["new-checkout"]

    target = paaf.FlagTarget(backend=None, project="", key="new-checkout", environment="production")
    protect.ask_switch(target, False)
    asked = seen.until("the confirmation", lambda s: s.asking is not None).asking
    assert asked.question == "Turn new-checkout in production (unleash `prod`) OFF? It is ON now."
    protect.confirm()
    changed = seen.until("the change", lambda s: s.last_change is not None and not s.busy)
    assert (changed.last_change.was_enabled, changed.last_change.enabled) == (True, False)
    assert not run(p.flag_state(target)).enabled

    protect.ask_undo()
    seen.until("the undo's confirmation", lambda s: s.asking is not None)
    protect.confirm()
    seen.until("the undo", lambda s: s.last_change.enabled and not s.busy)
    assert run(p.flag_state(target)).enabled
