"""Fix through the Python bindings: the servers of a cloud account and a stop and start followed
to their end, against a real moto_server (an in-memory AWS EC2)."""

import threading
import time

import pytest

import paaf
from conftest import MapStore, open_paaf, run

Code = paaf.ErrorCode
Status = paaf.ServerStatus


class Seen(paaf.ServerPowerListener):
    """A listener as an app writes it; reads arrive on paaf's threads."""

    def __init__(self):
        self.reads = []
        self.lock = threading.Lock()

    def on_progress(self, progress):
        with self.lock:
            self.reads.append(progress)


def ec2_config(moto, extra=""):
    return (
        'operator = "alice"\n'
        '[[clouds]]\nname = "prod"\ntype = "aws"\nregions = ["eu-west-1", "us-east-1"]\n'
        f'access_key_id = "AKIDEXAMPLE"\nsecret_access_key = "keyring:aws-prod"\nendpoint = "{moto.url}"\n'
        f"{extra}"
    )


def test_servers_of_two_regions_and_an_account_that_fails_as_a_row(moto):
    web = moto.launch("eu-west-1", "py-web-1")
    batch = moto.launch("us-east-1", "py-batch-1")
    store = MapStore()
    store.entries["aws-prod"] = "moto-accepts-any-secret"
    broken = '[[clouds]]\nname = "staging"\ntype = "aws"\nregions = ["eu-west-1"]\naccess_key_id = "AKID2"\nsecret_access_key = "keyring:aws-staging"\n'
    p, _, _ = open_paaf(store, ec2_config(moto, broken))
    assert p.cached_servers() is None  # nothing listed yet

    inventory = run(p.servers(None))
    # The full listing is cached: shown at once on the next start, with when it was read.
    cached = p.cached_servers()
    assert [s.id for s in cached.servers] == [s.id for s in inventory.servers]
    assert abs(cached.fetched_at_ms - time.time() * 1000) < 60_000
    mine = {s.name: s for s in inventory.servers if s.name in ("py-web-1", "py-batch-1")}
    assert (mine["py-web-1"].id, mine["py-web-1"].region) == (web, "eu-west-1")
    assert (mine["py-batch-1"].id, mine["py-batch-1"].region) == (batch, "us-east-1")
    assert mine["py-web-1"].status == Status.RUNNING and mine["py-web-1"].raw_state == "running"
    assert mine["py-web-1"].provider == "aws" and mine["py-web-1"].account == "prod"
    assert mine["py-web-1"].tags["Name"] == "py-web-1"
    assert mine["py-web-1"].private_ips
    # The account whose secret is not in the keystore: a row with its code, not a failure.
    [error] = inventory.errors
    assert (error.account, error.region, error.error.code) == ("staging", None, Code.SECRET)

    only = run(p.servers("prod"))
    assert not only.errors
    with pytest.raises(paaf.PaafError.Input) as e:
        run(p.servers("nope"))
    assert e.value.code == Code.NOT_FOUND


def test_stop_and_start_with_the_listener_seeing_each_state(moto):
    web = moto.launch("eu-west-1", "py-web-2")
    store = MapStore()
    store.entries["aws-prod"] = "moto-accepts-any-secret"
    p, _, _ = open_paaf(store, ec2_config(moto))

    # Without a confirmation: refused before anything is sent.
    refused = p.server_power("prod", "py-web-2", paaf.PowerAction.STOP, paaf.Confirmation.NONE(), Seen())
    with pytest.raises(paaf.PaafError.Input) as e:
        run(refused.result())
    assert e.value.code == Code.CONFIRMATION_REQUIRED
    assert refused.is_finished()

    seen = Seen()
    op = p.server_power("prod", "py-web-2", paaf.PowerAction.STOP, paaf.Confirmation.YES(), seen)
    outcome = run(op.result())
    assert outcome.server.id == web and outcome.server.status == Status.STOPPED
    # EC2 answers the stop with `stopping`; moto is stopped by the first read.
    assert outcome.accepted.status == Status.STOPPING
    assert outcome.seen == [Status.STOPPING, Status.STOPPED]
    assert seen.reads, "the listener saw the reads"
    assert seen.reads[-1].server.status == Status.STOPPED
    assert len({r.action_id for r in seen.reads}) == 1
    assert outcome.polls == len(seen.reads)
    assert outcome.evidence == paaf.Evidence.STATE_READ_BACK(raw_state="stopped")
    [s] = [s for s in run(p.servers("prod")).servers if s.id == web]
    assert s.status == Status.STOPPED

    seen = Seen()
    outcome = run(p.server_power(None, web, paaf.PowerAction.START, paaf.Confirmation.YES(), seen).result())
    assert outcome.server.status == Status.RUNNING
    assert [r.server.status for r in seen.reads][-1] == Status.RUNNING

    with pytest.raises(paaf.PaafError.Input) as e:
        run(p.server_power("prod", "db-9", paaf.PowerAction.REBOOT, paaf.Confirmation.YES(), Seen()).result())
    assert e.value.code == Code.NOT_FOUND

    Kind = paaf.ActionKind
    rows = [r for r in p.journal(None, 20) if r.kind in (Kind.SERVER_START, Kind.SERVER_STOP)]
    assert [(r.kind, r.state) for r in rows[:2]] == [
        (Kind.SERVER_START, paaf.ActionState.SUCCEEDED),
        (Kind.SERVER_STOP, paaf.ActionState.SUCCEEDED),
    ]
    assert all(r.frontend == "mobile" and r.target == f"prod/{web}" for r in rows[:2])
    assert "moto-accepts-any-secret" not in str([(r.detail, r.result) for r in rows])


def test_a_reboot_ec2_shows_no_sign_of_is_unverified(moto):
    # EC2 (moto as AWS) shows nothing of a reboot: no operation, always running. Watched for a
    # second (one read), it is unverified: no evidence, and the journal says so.
    moto.launch("eu-west-1", "py-web-3")
    store = MapStore()
    store.entries["aws-prod"] = "moto-accepts-any-secret"
    p, _, _ = open_paaf(store, ec2_config(moto, "reboot_watch_secs = 1\n"))

    outcome = run(p.server_power("prod", "py-web-3", paaf.PowerAction.REBOOT, paaf.Confirmation.YES(), Seen()).result())
    assert outcome.server.status == Status.RUNNING
    assert outcome.evidence is None
    [row] = [r for r in p.journal(None, 20) if r.kind == paaf.ActionKind.SERVER_REBOOT]
    assert row.state == paaf.ActionState.UNVERIFIED
    assert "no sign of the reboot" in row.result


def test_fix_lists_the_servers_and_stops_one_after_the_confirmation_read_back(moto):
    from test_screens import listen

    web = moto.launch("eu-west-1", "py-fix-1")
    store = MapStore()
    store.entries["aws-prod"] = "moto-accepts-any-secret"
    p, _, _ = open_paaf(store, ec2_config(moto))
    fix = p.fix_screen()
    seen, _sub = listen(fix, "Fix")
    listed = seen.until("py-fix-1", lambda s: not s.busy and any(m.name == "py-fix-1" for m in s.machines))
    [row] = [m for m in listed.machines if m.name == "py-fix-1"]
    assert (row.kind, row.id, row.account) == (paaf.MachineKind.SERVER, web, "prod")
    assert row.actions == [paaf.MachineAction.REBOOT, paaf.MachineAction.STOP]

    fix.ask("py-fix-1", paaf.MachineAction.STOP)
    asked = seen.until("the confirmation", lambda s: s.asking is not None).asking
    assert asked.question.startswith("Stop ")
    fix.confirm()
    run_ = seen.until("the end", lambda s: s.running is not None and s.running.finished).running
    assert run_.verified and run_.error is None and run_.progress
    after = seen.until("the list read again", lambda s: any(m.name == "py-fix-1" and m.status == "stopped" for m in s.machines))
    assert [m.actions for m in after.machines if m.name == "py-fix-1"] == [[paaf.MachineAction.START]]
    [s] = [s for s in run(p.servers("prod")).servers if s.id == web]
    assert s.status == Status.STOPPED


def test_a_listener_that_raises_stops_neither_the_action_nor_the_others(moto):
    # The app's listener failing is the app's bug: the stop still ends, read back, and a
    # screen keeps delivering to every listener. Before, uniffi panicked on the exception
    # ("Callback interface failure"): the task or the delivery thread died.
    moto.launch("eu-west-1", "py-raise-1")
    store = MapStore()
    store.entries["aws-prod"] = "moto-accepts-any-secret"
    p, _, _ = open_paaf(store, ec2_config(moto))

    class Raising(paaf.ServerPowerListener):
        calls = 0

        def on_progress(self, progress):
            Raising.calls += 1
            raise RuntimeError("a bug in the app's listener")

    outcome = run(p.server_power("prod", "py-raise-1", paaf.PowerAction.STOP, paaf.Confirmation.YES(), Raising()).result())
    assert outcome.evidence == paaf.Evidence.STATE_READ_BACK(raw_state="stopped")
    assert Raising.calls == outcome.polls

    from test_screens import listen

    journal = p.journal_screen()

    class RaisingJournal(paaf.JournalListener):
        def on_state(self, state):
            raise RuntimeError("a bug in the app's listener")

    _raising = journal.subscribe(RaisingJournal())
    seen, _sub = listen(journal, "Journal")
    seen.until("the state now", lambda s: s.target is None)
    journal.filter("py-raise-1")
    assert seen.until("the filter", lambda s: s.target == "py-raise-1").target == "py-raise-1"
