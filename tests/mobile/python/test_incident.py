"""The PAAF incident through the Python bindings against the real peers: an incident opened from
the rule that fires in a real Prometheus (its playbook found by the alert's labels), Protect
after one confirmation (a real Unleash flag off, the alert silenced in a real Alertmanager) with
each step's progress, Stand down putting both back, the incident resolved."""

import threading
import time

import pytest

import paaf
from conftest import MapStore, open_paaf, run

RULE = "PaafTestAlwaysFiring"


class Steps(paaf.StepListener):
    """What a phone's Incident screen receives while a run goes on."""

    def __init__(self):
        self.events = []
        self.lock = threading.Lock()

    def on_step(self, event):
        with self.lock:
            self.events.append(event)

    def updates(self, index):
        """The kinds of update step `index` reported, in order."""
        with self.lock:
            return [type(e.update).__name__.split(".")[-1] for e in self.events if e.index == index]


def flag_enabled(p, env="production"):
    target = paaf.FlagTarget(backend=None, project="default", key="new-checkout", environment=env)
    return run(p.flag_state(target)).enabled


def open_from_alert(p):
    """The incident opened from the firing rule, once Prometheus has evaluated it."""
    end = time.monotonic() + 60
    while True:
        try:
            return run(
                p.open_incident(
                    paaf.IncidentInput(
                        title="",
                        severity=None,
                        alert=paaf.AlertRef(source="prom", name=RULE, labels={}),
                        playbook=None,
                        alongside=False,
                    )
                )
            )
        except paaf.PaafError:
            if time.monotonic() > end:
                raise
            time.sleep(1)


def test_an_incident_from_the_firing_alert_is_protected_stood_down_and_resolved(prometheus, unleash):
    store = MapStore()
    store.entries["unleash-prod"] = unleash["token"]
    text = (
        'operator = "alice"\n'
        f'[[monitoring]]\nname = "prom"\ntype = "prometheus"\nurl = "{prometheus["prometheus"]}"\n'
        f'[[monitoring]]\nname = "am"\ntype = "alertmanager"\nurl = "{prometheus["alertmanager"]}"\n'
        f'[[flags]]\nname = "prod"\ntype = "unleash"\nurl = "{unleash["url"]}"\n'
        'token = "keyring:unleash-prod"\n'
        '[[playbooks]]\nname = "checkout"\n'
        f'match = {{ alertname = "{RULE}", severity = "=~page|critical" }}\n'
        '[[playbooks.protect]]\nflag = "new-checkout"\nenv = "production"\n'
        '[[playbooks.protect]]\nsilence = "30m"\n'
    )
    p, _, _ = open_paaf(store, text)
    assert flag_enabled(p)

    incident = open_from_alert(p)
    assert incident.playbook == "checkout", incident
    assert incident.alert is not None and incident.alert.name == RULE
    assert incident.alert.labels["service"] == "checkout"
    assert [i.id for i in p.incidents(True, 5)] == [incident.id]

    # One confirmation listing every step with its target's state now.
    plan = run(p.protect_plan(None, None))
    assert plan.run == paaf.RunKind.PROTECT and plan.incident_id == incident.id
    assert [s.state_now for s in plan.steps][0] == "ON in production", plan
    assert len(plan.steps) == 2 and "matching alerts firing" in plan.steps[1].state_now, plan
    with pytest.raises(paaf.PaafError.Input) as refused:
        run(p.protect(plan, paaf.Confirmation.NONE(), Steps()).result())
    assert refused.value.code == paaf.ErrorCode.CONFIRMATION_REQUIRED
    assert flag_enabled(p), "nothing ran without the confirmation"

    steps = Steps()
    report = run(p.protect(plan, paaf.Confirmation.YES(), steps).result())
    assert [s.status for s in report.steps] == [paaf.StepStatus.SUCCEEDED] * 2, report
    assert all(s.evidence for s in report.steps), report
    for index in (0, 1):
        seen = steps.updates(index)
        assert seen[0] == "STARTED" and seen[-1] == "FINISHED", seen
    assert not flag_enabled(p)
    ours = [s for s in run(p.silences("am")) if s.state == paaf.SilenceState.ACTIVE and s.created_by == "alice"]
    assert len(ours) == 1, ours
    detail = p.incident_detail(None)
    assert detail.incident.phase == paaf.IncidentPhase.PROTECTED, detail.incident
    assert {a.kind for a in detail.actions} >= {paaf.ActionKind.FLAG_OFF, paaf.ActionKind.SILENCE}
    assert all(a.frontend == "mobile" for a in detail.actions)

    # Stand down: the flag back on, the silence expired, newest change first.
    back = run(p.stand_down_plan(None))
    assert back.run == paaf.RunKind.STAND_DOWN
    assert [s.kind for s in back.steps] == [paaf.ActionKind.EXPIRE_SILENCE, paaf.ActionKind.FLAG_ON], back
    reversed_ = run(p.stand_down(back, paaf.Confirmation.YES(), Steps()).result())
    assert [s.status for s in reversed_.steps] == [paaf.StepStatus.SUCCEEDED] * 2, reversed_
    assert flag_enabled(p)
    expired = [s for s in run(p.silences("am")) if s.id == ours[0].id]
    assert expired[0].state == paaf.SilenceState.EXPIRED, expired

    resolved = run(p.resolve_incident(None, "stood down from the phone"))
    assert resolved.phase == paaf.IncidentPhase.RESOLVED
    assert p.incidents(True, 5) == []
