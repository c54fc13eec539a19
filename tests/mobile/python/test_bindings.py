"""The Python bindings of paaf-mobile (uniffi), the whole exported surface, against a real
OpenSSH test host: what a phone app does, with a SecretStore written in Python."""

import asyncio
import threading
import time
from pathlib import Path

import pytest

import paaf
from conftest import PASSWORD, MapStore, add_web1, free_port, open_paaf, run, trusted, web1

Code = paaf.ErrorCode
Kind = paaf.ActionKind


def journal_rows(p, kind):
    return [r for r in p.journal(None, 100) if r.kind == kind]


def wait_for(predicate, what, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Collect(paaf.ProgressListener):
    """A listener as an app writes it; events arrive on paaf's threads."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()
        self.first = threading.Event()

    def on_progress(self, event):
        with self.lock:
            self.events.append(event)
        self.first.set()

    def steps(self):
        with self.lock:
            return [type(e.step).__name__.rsplit(".", 1)[-1] for e in self.events]


def test_open_from_text_writes_the_config_in_the_sandbox_and_names_the_phone():
    p, _, sandbox = open_paaf(device="Pixel 8 of alice")
    about = p.about()
    assert about.frontend == "mobile"
    assert about.device == "Pixel 8 of alice"
    assert about.operator == "alice"
    assert about.secret_backend == "app-keystore"
    assert Path(about.config_path) == sandbox / "paaf.toml"
    assert Path(about.journal_path).parent == sandbox
    assert (sandbox / "paaf.toml").read_text().startswith('operator = "alice"')
    assert p.hosts() == []


def test_a_bad_config_is_an_input_error_with_the_config_code_and_the_line():
    with pytest.raises(paaf.PaafError.Input) as e:
        open_paaf(text='operator = "alice"\n[[hosts]]\nname = 3\n')
    assert e.value.code == Code.CONFIG
    assert "line 3" in e.value.reason


def test_add_host_keeps_the_password_in_the_apps_store_never_in_the_config(host):
    p, store, sandbox = open_paaf()
    added = add_web1(p, host)
    assert (added.name, added.port, added.auth) == ("web-1", host.port, "password")
    assert store.entries == {"host-web-1-password": PASSWORD}
    text = (sandbox / "paaf.toml").read_text()
    assert PASSWORD not in text
    assert 'password = "keyring:host-web-1-password"' in text
    assert [h.name for h in p.hosts()] == ["web-1"]
    assert journal_rows(p, Kind.HOST_ADD)[0].state == paaf.ActionState.SUCCEEDED


def test_a_host_is_added_only_once_its_key_is_trusted_and_its_login_works(host):
    p, store, sandbox = open_paaf()
    login = paaf.HostCheck.LOGIN(trust=None)
    offered = run(p.add_host(web1(host, "not-the-password"), login))
    assert offered.is_key_to_confirm(), offered
    assert offered.key.status == paaf.KeyStatus.UNKNOWN
    assert p.hosts() == [] and store.entries == {}
    # The key trusted, but the password is wrong: still nothing saved, not even the key.
    trust = paaf.HostCheck.LOGIN(trust=offered.key.fingerprint)
    with pytest.raises(paaf.PaafError.Access) as e:
        run(p.add_host(web1(host, "not-the-password"), trust))
    assert e.value.code == Code.AUTH_FAILED
    assert "not added" in e.value.reason and "not-the-password" not in e.value.reason
    assert p.hosts() == [] and store.entries == {}
    assert "web-1" not in (sandbox / "paaf.toml").read_text()
    assert run(p.add_host(web1(host), login)).is_key_to_confirm()
    added = run(p.add_host(web1(host), trust))
    assert added.is_added() and added.host.name == "web-1"
    assert store.entries == {"host-web-1-password": PASSWORD}
    [status] = run(p.status([]))
    assert status.reachable, status.error
    assert status.last_action.kind == Kind.HOST_ADD


def test_an_unknown_host_key_is_shown_refused_then_trusted(host):
    p, _, _ = open_paaf()
    add_web1(p, host)
    key = run(p.probe_host_key("web-1"))
    assert key.status == paaf.KeyStatus.UNKNOWN
    assert key.fingerprint.startswith("SHA256:")
    with pytest.raises(paaf.PaafError.Access) as e:
        run(p.exec("web-1", "true", paaf.Confirmation.YES()))
    assert e.value.code == Code.HOST_KEY_UNKNOWN
    assert key.fingerprint in e.value.reason
    run(p.trust_host_key("web-1", key.fingerprint))
    assert run(p.probe_host_key("web-1")).status == paaf.KeyStatus.KNOWN
    [status] = run(p.status([]))
    assert status.reachable, status.error
    assert status.boot_id == host.boot_id()
    assert status.last_action.kind == Kind.TRUST_HOST_KEY


def test_a_changed_host_key_is_refused_until_forgotten_and_trusted_again(host):
    p, _, _ = trusted(host)
    host.rekey()
    with pytest.raises(paaf.PaafError.Access) as e:
        run(p.exec("web-1", "true", paaf.Confirmation.YES()))
    assert e.value.code == Code.HOST_KEY_CHANGED
    assert run(p.forget_host_key("web-1")) >= 1
    key = run(p.probe_host_key("web-1"))
    assert key.status == paaf.KeyStatus.UNKNOWN
    run(p.trust_host_key("web-1", key.fingerprint))
    assert run(p.exec("web-1", "true", paaf.Confirmation.YES())).exit_code == 0


def test_exec_needs_confirmation_and_a_known_host(host):
    p, _, _ = trusted(host)
    out = run(p.exec("web-1", "echo hi; echo err >&2; exit 3", paaf.Confirmation.YES()))
    assert (out.stdout, out.stderr, out.exit_code) == ("hi\n", "err\n", 3)
    with pytest.raises(paaf.PaafError.Input) as e:
        run(p.exec("web-1", "true", paaf.Confirmation.NONE()))
    assert e.value.code == Code.CONFIRMATION_REQUIRED
    with pytest.raises(paaf.PaafError.Input) as e:
        run(p.exec("db-9", "true", paaf.Confirmation.YES()))
    assert e.value.code == Code.NOT_FOUND
    assert "web-1" in e.value.reason


def test_runbooks_list_and_a_dangerous_one_needs_its_name_typed(host):
    p, _, _ = trusted(host)
    books = {b.name: b.dangerous for b in run(p.runbooks("web-1"))}
    assert books["check-disk"] is False and books["__wipe-cache"] is True
    assert run(p.run_runbook("web-1", "check-disk", paaf.Confirmation.YES())).exit_code == 0
    with pytest.raises(paaf.PaafError.Input) as e:
        run(p.run_runbook("web-1", "__wipe-cache", paaf.Confirmation.YES()))
    assert e.value.code == Code.CONFIRMATION_REQUIRED
    typed = paaf.Confirmation.TYPED("__wipe-cache")
    assert run(p.run_runbook("web-1", "__wipe-cache", typed)).exit_code == 0


def test_several_calls_run_concurrently_from_one_event_loop(host):
    p, _, _ = trusted(host)

    async def many():
        calls = [p.exec("web-1", f"echo {i}", paaf.Confirmation.YES()) for i in range(5)]
        return await asyncio.gather(*calls, p.status([]))

    *outs, statuses = run(many())
    assert [o.stdout for o in outs] == [f"{i}\n" for i in range(5)]
    assert statuses[0].reachable


def test_a_verified_reboot_streams_progress_to_the_listener(host):
    p, _, _ = trusted(host)
    before = host.boot_id()
    listener = Collect()
    operation = p.reboot("web-1", paaf.Confirmation.YES(), listener)
    report = run(operation.result())
    assert operation.is_finished()
    assert report.rebooted
    assert report.boot_id_before == before
    assert report.boot_id_after == host.boot_id() != before
    steps = listener.steps()
    for expected in ["COMMAND_SENT", "CONNECTION_DROPPED", "BOOT_ID_CHANGED", "TEST_COMMAND_OK"]:
        assert expected in steps, steps
    assert steps[-1] == "DONE"
    assert steps.index("COMMAND_SENT") < steps.index("BOOT_ID_CHANGED")
    ids = {e.action_id for e in listener.events}
    [row] = journal_rows(p, Kind.REBOOT)
    assert ids == {row.id}
    assert row.state == paaf.ActionState.SUCCEEDED
    # A second wait gives the same result.
    assert run(operation.result()) == report


def test_a_reboot_without_confirmation_is_refused_and_sends_nothing(host):
    p, _, _ = trusted(host)
    before = host.boot_id()
    listener = Collect()
    with pytest.raises(paaf.PaafError.Input) as e:
        run(p.reboot("web-1", paaf.Confirmation.NONE(), listener).result())
    assert e.value.code == Code.CONFIRMATION_REQUIRED
    assert listener.events == []
    assert host.boot_id() == before


def test_cancel_stops_a_reboot_and_result_reports_cancelled(host):
    p, _, _ = trusted(host)
    (host.dir / "stay-down").write_text("")  # the host stays down once it goes down
    listener = Collect()
    operation = p.reboot("web-1", paaf.Confirmation.YES(), listener)
    wait_for(lambda: "CONNECTION_DROPPED" in listener.steps(), "the connection to drop")
    operation.cancel()
    with pytest.raises(paaf.PaafError.Cancelled) as e:
        run(operation.result())
    assert e.value.code == Code.CANCELLED
    [row] = journal_rows(p, Kind.REBOOT)
    # The reboot command had been sent: whether the host reboots is unknown, not a failure.
    assert (row.state, row.error_code) == (paaf.ActionState.UNKNOWN, "cancelled")
    (host.dir / "stay-down").unlink()


def test_dropping_the_operation_cancels_the_reboot(host):
    p, _, _ = trusted(host)
    (host.dir / "stay-down").write_text("")
    listener = Collect()
    operation = p.reboot("web-1", paaf.Confirmation.YES(), listener)
    wait_for(lambda: "CONNECTION_DROPPED" in listener.steps(), "the connection to drop")
    del operation  # the app lets go of the handle (Kotlin close(), Swift deinit)
    row = wait_for(
        lambda: next((r for r in journal_rows(p, Kind.REBOOT) if r.finished_at), None),
        "the reboot to end",
    )
    assert (row.state, row.error_code) == (paaf.ActionState.UNKNOWN, "cancelled")
    (host.dir / "stay-down").unlink()


def test_cancel_by_action_id_from_a_progress_event(host):
    p, _, _ = trusted(host)
    (host.dir / "stay-down").write_text("")
    listener = Collect()
    operation = p.reboot("web-1", paaf.Confirmation.YES(), listener)
    wait_for(lambda: "CONNECTION_DROPPED" in listener.steps(), "the connection to drop")
    assert p.cancel(listener.events[0].action_id)
    with pytest.raises(paaf.PaafError.Cancelled):
        run(operation.result())
    assert not p.cancel(listener.events[0].action_id)
    (host.dir / "stay-down").unlink()


class RefusingStore(MapStore):
    def get(self, name):
        raise paaf.PaafError.Access(Code.SECRET, "the keystore is locked: unlock the phone")


class BrokenStore(MapStore):
    def get(self, name):
        raise RuntimeError("bug in the app")


def test_a_keystore_that_refuses_gives_a_secret_error_naming_it(host):
    p, store, sandbox = open_paaf(RefusingStore())
    add_web1(p, host)
    with pytest.raises(paaf.PaafError.Access) as e:
        run(p.exec("web-1", "true", paaf.Confirmation.YES()))
    assert e.value.code == Code.SECRET
    assert "the keystore is locked" in e.value.reason
    assert "keyring:host-web-1-password" in e.value.reason


def test_a_keystore_that_throws_unexpectedly_is_an_internal_error_not_a_crash(host):
    p, _, _ = open_paaf(BrokenStore())
    add_web1(p, host)
    with pytest.raises(paaf.PaafError.Internal) as e:
        run(p.exec("web-1", "true", paaf.Confirmation.YES()))
    assert e.value.code == Code.OTHER
    assert "callback failed" in e.value.reason and "bug in the app" in e.value.reason
    assert p.hosts()[0].name == "web-1"  # still usable


def test_a_missing_secret_says_to_store_it(host):
    p, store, _ = open_paaf()
    add_web1(p, host)
    store.entries.clear()
    [status] = run(p.status(["web-1"]))  # a status list shows each host's own error
    assert not status.reachable
    assert status.error.code == Code.SECRET
    assert "set_secret" in status.error.message
    p.set_secret("host-web-1-password", PASSWORD)
    assert store.entries["host-web-1-password"] == PASSWORD


def test_the_password_never_reaches_errors_or_the_journal(host):
    p, store, sandbox = trusted(host)
    store.entries["host-web-1-password"] = "wrong-" + PASSWORD
    p2 = paaf.Paaf.open(
        paaf.ConfigSource.PATH(path=str(sandbox / "paaf.toml")), store, "test-phone"
    )
    with pytest.raises(paaf.PaafError.Access) as e:
        run(p2.exec("web-1", "true", paaf.Confirmation.YES()))
    assert e.value.code == Code.AUTH_FAILED
    assert PASSWORD not in str(e.value) and PASSWORD not in repr(e.value)
    for row in p2.journal(None, 100):
        assert PASSWORD not in f"{row.detail} {row.result}"
    assert PASSWORD.encode() not in (sandbox / "journal.sqlite").read_bytes()


def test_an_unreachable_host_is_a_connection_error(host):
    p, _, _ = trusted(host)
    host.stop()
    with pytest.raises(paaf.PaafError.Connection) as e:
        run(p.exec("web-1", "true", paaf.Confirmation.YES()))
    assert e.value.code == Code.UNREACHABLE
    [status] = run(p.status([]))
    assert not status.reachable and status.error.code == Code.UNREACHABLE


def test_the_journal_names_the_phone_and_remove_host_is_journaled(host):
    p, _, sandbox = trusted(host)
    run(p.exec("web-1", "true", paaf.Confirmation.YES()))
    rows = p.journal("web-1", 50)
    assert {r.kind for r in rows} >= {Kind.HOST_ADD, Kind.TRUST_HOST_KEY, Kind.EXEC}
    assert all((r.frontend, r.device, r.operator) == ("mobile", "test-phone", "alice") for r in rows)
    assert rows[0].created_at.tzinfo is not None or rows[0].created_at.year >= 2025
    p.remove_host("web-1")
    assert p.hosts() == []
    assert p.journal(None, 1)[0].kind == Kind.HOST_REMOVE
    with pytest.raises(paaf.PaafError.Input) as e:
        p.remove_host("web-1")
    assert e.value.code == Code.NOT_FOUND


class FanOutSeen(paaf.FanOutListener):
    """A fan-out's progress as an app collects it; it arrives on paaf's threads."""

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()

    def on_progress(self, progress):
        with self.lock:
            self.seen.append(progress)


def test_a_fan_out_is_confirmed_grouped_live_and_journaled(host):
    p, _, _ = trusted(host)
    down = web1(host)
    down.name, down.port = "down-1", free_port()  # nothing listens there
    run(p.add_host(down, paaf.HostCheck.NO_CONNECT()))
    every = paaf.FleetSelector(names=["*"], tags=[], groups=[])
    job = paaf.FanOutJob.COMMAND("echo fleet-ok")
    ask = p.fan_out_ask(every, job)
    assert (ask.host_count, ask.hosts) == (2, ["web-1", "down-1"])
    assert ask.question == "running `echo fleet-ok` on 2 hosts: web-1, down-1"
    listener = FanOutSeen()
    report = run(p.fan_out(every, job, None, None, paaf.Confirmation.YES(), listener).result())
    assert [(g.label, g.hosts) for g in report.groups] == [
        ("exit 0", ["web-1"]),
        ("unreachable", ["down-1"]),
    ]
    assert report.groups[0].outcome[0].stdout == "fleet-ok\n"
    assert (report.tally.done, report.tally.failed) == (2, 1)
    assert [s.tally.done for s in listener.seen] == [1, 2]
    assert report.failure == Code.UNREACHABLE
    [row] = [r for r in p.journal("web-1", 50) if r.kind == Kind.EXEC]
    assert row.id == report.hosts[0].action_id
