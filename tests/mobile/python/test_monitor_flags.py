"""Protect and Analyze through the Python bindings: a flag kill switch with undo against a real
Unleash, alerts, a query and a silence against real Prometheus + Alertmanager."""

import time

import pytest

import paaf
from conftest import open_on_unleash, open_paaf, run

Code = paaf.ErrorCode


def wait_for(predicate, what, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_kill_switch_with_the_phones_keystore_and_undo(unleash):
    p = open_on_unleash(unleash)
    [service] = run(p.flags(None, "checkout", None))
    assert service.error is None, service.error
    [flag] = [f for f in service.flags if f.key == "new-checkout"]
    assert {e.name: e.enabled for e in flag.environments} == {"production": True, "development": True}

    target = paaf.FlagTarget(backend=None, project="default", key="new-checkout", environment="production")
    now = run(p.flag_state(target))
    assert now.enabled
    with pytest.raises(paaf.PaafError.Input) as e:
        run(p.set_flag(target, False, now, paaf.Confirmation.NONE()))
    assert e.value.code == Code.CONFIRMATION_REQUIRED
    change = run(p.set_flag(target, False, now, paaf.Confirmation.YES()))
    assert (change.was_enabled, change.enabled) == (True, False)
    assert not run(p.flag_state(target)).enabled

    # A stale confirmation (the user saw ON, it is OFF now): refused, nothing written.
    with pytest.raises(paaf.PaafError.Remote) as e:
        run(p.set_flag(target, True, now, paaf.Confirmation.YES()))
    assert e.value.code == Code.CONFLICT

    undone = run(p.undo_flag(change.action_id, paaf.Confirmation.YES()))
    assert undone.enabled
    Kind = paaf.ActionKind
    rows = [r for r in p.journal(None, 20) if r.kind in (Kind.FLAG_ON, Kind.FLAG_OFF)]
    seen = [(r.kind, r.state, r.error_code) for r in rows[:3]]
    assert seen == [
        (Kind.FLAG_ON, paaf.ActionState.SUCCEEDED, None),  # the undo
        (Kind.FLAG_ON, paaf.ActionState.FAILED, "conflict"),  # the stale attempt, journaled too
        (Kind.FLAG_OFF, paaf.ActionState.SUCCEEDED, None),
    ], seen
    assert all(r.frontend == "mobile" for r in rows)
    assert unleash["token"] not in str([r.detail for r in rows])


def test_alerts_a_query_and_a_silence(prometheus):
    text = (
        'operator = "alice"\n'
        f'[[monitoring]]\nname = "prom"\ntype = "prometheus"\nurl = "{prometheus["prometheus"]}"\n'
        f'[[monitoring]]\nname = "am"\ntype = "alertmanager"\nurl = "{prometheus["alertmanager"]}"\n'
    )
    p, _, _ = open_paaf(text=text)

    def firing(source):
        sources = run(p.alerts(None))
        alerts = next(s for s in sources if s.source == source).alerts
        return [a for a in alerts if a.name == "PaafTestAlwaysFiring" and a.state == "firing"]

    [alert] = wait_for(lambda: firing("prom"), "the rule to fire")
    assert alert.severity == "page" and alert.labels["service"] == "checkout"
    wait_for(lambda: firing("am"), "the alert to reach Alertmanager")
    # The glance (tray, widget): severity "page" is critical, ranked first by the core.
    overview = run(p.overview())
    assert overview.level == paaf.OverviewLevel.CRITICAL, overview
    assert overview.critical >= 2 and overview.top_alerts[0].name == "PaafTestAlwaysFiring"
    assert "critical" in overview.headline and not overview.unreadable

    result = wait_for(
        lambda: run(p.query(None, "up", "now-1m", "now", 20)).series or None, "samples of up"
    )
    assert {s.labels["job"] for s in result} == {"node", "prometheus"}
    assert all(len(s.values) == len(s.times_ms) > 0 for s in result)
    assert all(t.health == paaf.TargetHealth.UP for t in run(p.targets(None)))
    with pytest.raises(paaf.PaafError.Input) as e:
        run(p.query(None, "rate(up[", None, None, 10))
    assert e.value.code == Code.INVALID_INPUT

    silence_id = run(p.silence(None, ["alertname=PaafTestAlwaysFiring"], 10, "phone test"))
    wait_for(
        lambda: any(
            silence_id in a.silenced_by
            for s in run(p.alerts("am"))
            for a in s.alerts
        ),
        "the alert to be silenced",
    )
    run(p.expire_silence(None, silence_id))
    [expired] = [s for s in run(p.silences(None)) if s.id == silence_id]
    assert expired.state == paaf.SilenceState.EXPIRED
    kinds = [r.kind for r in p.journal("am", 10)]
    assert kinds[:2] == [paaf.ActionKind.EXPIRE_SILENCE, paaf.ActionKind.SILENCE]
