"""The Analyze and Alert screen models through the Python bindings, as an app uses them:
subscribe, act, observe the states. Against the real Prometheus and Alertmanager
(tests/peers/prometheus.sh); the Grafana side is covered by tests/tests/mobile_screens.rs and
the Kotlin tests."""

import time

import paaf
from conftest import config_text, open_paaf
from test_screens import listen

Code = paaf.ErrorCode


def monitoring(prometheus):
    return config_text(
        f'[[monitoring]]\nname = "prom"\ntype = "prometheus"\nurl = "{prometheus["prometheus"]}"\n'
        f'[[monitoring]]\nname = "am"\ntype = "alertmanager"\nurl = "{prometheus["alertmanager"]}"\n'
    )


def test_analyze_draws_a_quick_query_bucketed_for_the_width(prometheus):
    p, _, _ = open_paaf(text=monitoring(prometheus))
    analyze = p.analyze_screen()
    seen, _sub = listen(analyze, "Analyze")
    first = seen.until("the first state", lambda s: s.width == 1080)
    assert first.grafana is None and first.grafana_sources == []
    assert any(r.window._from == "now-1h" for r in first.ranges)

    analyze.set_width(90)
    deadline = time.monotonic() + 60
    while True:
        analyze.run_query("prom", "up")
        chart = seen.until("the chart", lambda s: s.query is not None and not s.busy).query
        if chart.series or time.monotonic() > deadline:
            break
        time.sleep(1)  # Prometheus has just started: its first scrapes may not be in yet
    assert chart.series and chart.width == 90
    assert all(c < 90 for s in chart.series for c in s.columns)
    assert all(len(s.columns) == len(s.max) == len(s.mean) for s in chart.series)

    analyze.open_dashboard("anything")
    refused = seen.until("no Grafana", lambda s: s.error is not None)
    assert refused.error.code == Code.CONFIG


def test_alert_silences_after_a_confirmation_and_expires_on_the_real_alertmanager(prometheus):
    p, _, _ = open_paaf(text=monitoring(prometheus))
    alert = p.alert_screen()
    seen, _sub = listen(alert, "Alert")
    first = seen.until("a first read", lambda s: not s.busy)
    assert first.silence_sources == ["am"] and first.source == "am"

    # The confirmation says what it mutes; the silence is added only on yes.
    state = first
    while not any(a.source == "am" and any(x.name == "PaafTestAlwaysFiring" for x in a.alerts) for a in state.alerts):
        time.sleep(1)  # Prometheus has just started: the alert reaches the Alertmanager soon
        alert.refresh()
        state = seen.until("a refresh", lambda s: not s.busy)
    alert.ask_silence(["alertname=PaafTestAlwaysFiring"], 15, "python looks at it")
    ask = seen.until("the confirmation", lambda s: s.asking is not None and not s.busy).asking
    assert ask.matching_now == 1 and ask.matching_names == ["PaafTestAlwaysFiring"]
    assert ask.question.endswith("for 15 min?"), ask.question
    alert.confirm()
    added = seen.until("the silence", lambda s: not s.busy and s.last_silence and s.silences)
    row = next(r for r in added.silences if r.silence.id == added.last_silence)
    silence = row.silence
    assert silence.state == paaf.SilenceState.ACTIVE and silence.comment == "python looks at it"
    assert row.can_expire

    alert.expire_silence(silence.id)
    expired = seen.until(
        "the silence expired",
        lambda s: not s.busy
        and any(r.silence.id == silence.id and r.silence.state == paaf.SilenceState.EXPIRED for r in s.silences),
    )
    assert not next(r for r in expired.silences if r.silence.id == silence.id).can_expire
