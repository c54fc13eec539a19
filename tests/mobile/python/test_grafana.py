"""Analyze through the Python bindings against a Grafana contract server: dashboard search, a
dashboard with a collapsed row and variables (one filtered by its regex), a panel's data with a
failing query beside a good one and a long-format frame, an annotation, and 401/404.

The server answers as Grafana's HTTP API documentation says; each handler names its page.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

import paaf
from conftest import MapStore, open_paaf, run

Code = paaf.ErrorCode
TOKEN = "glsa_contract_test_token"

DATASOURCES = [
    {"uid": "prom", "name": "Prometheus", "type": "prometheus", "isDefault": True, "jsonData": {"timeInterval": "15s"}}
]

# https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/
DASHBOARD = {
    "dashboard": {
        "uid": "node",
        "title": "Node overview",
        "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"},
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": "Up",
                "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                "datasource": {"type": "prometheus", "uid": "prom"},
                "fieldConfig": {"defaults": {"unit": "short"}},
                "targets": [
                    {"refId": "A", "expr": 'up{instance=~"$instance"}'},
                    {"refId": "B", "expr": "rate(up["},
                ],
            },
            {
                "id": 4,
                "type": "row",
                "title": "Details",
                "collapsed": True,
                "gridPos": {"x": 0, "y": 8, "w": 24, "h": 1},
                "panels": [
                    {
                        "id": 5,
                        "type": "timeseries",
                        "title": "Load",
                        "gridPos": {"x": 0, "y": 9, "w": 24, "h": 8},
                        "datasource": {"type": "prometheus", "uid": "prom"},
                        "targets": [{"refId": "A", "expr": "node_load1", "format": "table"}],
                    }
                ],
            },
        ],
        # https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/
        "templating": {
            "list": [
                {
                    "name": "instance",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "prom"},
                    "query": {"query": "label_values(up, instance)", "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                    "regex": "/(web-\\d+):9100/",
                    "includeAll": True,
                    "multi": False,
                    "current": {"text": "web-1", "value": "web-1"},
                },
                {"name": "env", "type": "custom", "query": "prod,staging", "current": {"text": "prod", "value": "prod"}},
            ]
        },
    },
    "meta": {"url": "/d/node/node-overview", "folderTitle": "Infrastructure"},
}


def frame(ref_id, fields, values):
    """A data frame as /api/ds/query sends it
    (https://grafana.com/developers/plugin-tools/key-concepts/data-frames)."""
    return {"schema": {"refId": ref_id, "fields": fields}, "data": {"values": values}}


TIME = {"name": "Time", "type": "time", "typeInfo": {"frame": "time.Time"}}


class Grafana(BaseHTTPRequestHandler):
    posted = []  # (path, JSON body) of every POST

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        # https://grafana.com/docs/grafana/latest/developers/http_api/authentication/
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self.reply(401, {"message": "invalid API key"})
        return False

    def do_GET(self):
        if not self.authorized():
            return
        url = urlparse(self.path)
        q = parse_qs(url.query)
        if url.path == "/api/search":
            # https://grafana.com/docs/grafana/latest/developers/http_api/folder_dashboard_search/
            assert q["type"] == ["dash-db"], q
            hits = [
                {"uid": "node", "title": "Node overview", "url": "/d/node/node-overview", "type": "dash-db",
                 "tags": ["linux", "prod"], "isStarred": True, "folderTitle": "Infrastructure"},
                {"uid": "shop", "title": "Shop", "url": "/d/shop/shop", "type": "dash-db", "tags": ["prod"],
                 "isStarred": False},
            ]
            text = q.get("query", [""])[0].lower()
            hits = [
                h for h in hits
                if text in h["title"].lower()
                and all(t in h["tags"] for t in q.get("tag", []))
                and (q.get("starred") != ["true"] or h["isStarred"])
            ]
            self.reply(200, hits)
        elif url.path == "/api/dashboards/uid/node":
            # https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/#get-dashboard-by-uid
            self.reply(200, DASHBOARD)
        elif url.path.startswith("/api/dashboards/uid/"):
            self.reply(404, {"message": "Dashboard not found"})
        elif url.path == "/api/datasources":
            # https://grafana.com/docs/grafana/latest/developers/http_api/data_source/#get-all-data-sources
            self.reply(200, DATASOURCES)
        elif url.path == "/api/datasources/proxy/uid/prom/api/v1/label/instance/values":
            # https://grafana.com/docs/grafana/latest/developers/http_api/data_source/#data-source-proxy-calls
            # answered as Prometheus's https://prometheus.io/docs/prometheus/latest/querying/api/#querying-label-values
            assert q["match[]"] == ["up"], q
            self.reply(200, {"status": "success", "data": ["db-1:9100", "web-1:9100", "web-2:9100"]})
        else:
            self.reply(404, {"message": "Not found"})

    def do_POST(self):
        if not self.authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Grafana.posted.append((self.path, body))
        if self.path == "/api/ds/query":
            # https://grafana.com/docs/grafana/latest/developers/http_api/data_source/#query-a-data-source
            start, end = int(body["from"]), int(body["to"])
            times = [start + i * (end - start) // 99 for i in range(100)]
            results = {}
            status = 200
            for query in body["queries"]:
                ref = query["refId"]
                if query["expr"].startswith("rate(up["):
                    # A failed query: Grafana answers 400 with every query's result.
                    results[ref] = {"status": 400, "error": "bad_data: 1:9: parse error: unexpected end of input"}
                    status = 400
                elif query["expr"] == "node_load1":
                    # Long format: string fields are labels (data-frames#long-format).
                    host = {"name": "host", "type": "string", "typeInfo": {"frame": "string"}}
                    value = {"name": "load", "type": "number", "typeInfo": {"frame": "float64"}}
                    t = [times[0], times[0], times[50], times[50]]
                    results[ref] = {"status": 200, "frames": [
                        frame(ref, [TIME, value, host], [t, [0.5, 2.0, 0.7, 2.5], ["web-1", "web-2", "web-1", "web-2"]])
                    ]}
                else:
                    value = {"name": "Value", "type": "number", "typeInfo": {"frame": "float64"},
                             "labels": {"__name__": "up", "instance": "web-1:9100"}}
                    values = [1.0] * 100
                    values[40] = 0.0
                    results[ref] = {"status": 200, "frames": [frame(ref, [TIME, value], [times, values])]}
            self.reply(status, {"results": results})
        elif self.path == "/api/annotations":
            # https://grafana.com/docs/grafana/latest/developers/http_api/annotations/#create-annotation
            self.reply(200, {"message": "Annotation added", "id": 7})
        else:
            self.reply(404, {"message": "Not found"})


@pytest.fixture(scope="module")
def grafana():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Grafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def opened(url, token=TOKEN):
    store = MapStore()
    store.entries["grafana-ops"] = token
    text = f'operator = "alice"\n[[monitoring]]\nname = "ops"\ntype = "grafana"\nurl = "{url}"\ntoken = "keyring:grafana-ops"\n'
    p, _, _ = open_paaf(store, text)
    return p


DEFAULT_VIEW = paaf.DashboardView(window=None, variables={})


def test_search_open_and_panel_data(grafana):
    p = opened(grafana)
    [hit] = run(p.dashboards(None, "node", ["linux"], True))
    assert (hit.uid, hit.title, hit.folder_title, hit.starred) == ("node", "Node overview", "Infrastructure", True)
    assert [h.uid for h in run(p.dashboards(None, None, [], False))] == ["node", "shop"]

    dash = run(p.dashboard(None, "node", DEFAULT_VIEW))
    assert dash.slug == "node-overview"
    # The collapsed row's panel is there, with its row.
    assert [(x.id, x.row) for x in dash.panels] == [(1, None), (5, "Details")]
    assert dash.panels[0].targets[1].ref_id == "B"
    assert json.loads(dash.panels[0].targets[0].query)["expr"] == 'up{instance=~"$instance"}'
    v = {x.name: x for x in dash.variables}
    # The regex kept the web hosts and made the capture group the value.
    assert v["instance"].options == ["web-1", "web-2"]
    assert (v["instance"].values, v["instance"].warning) == (["web-1"], None)
    assert v["env"].values == ["prod"] and v["env"].kind.is_custom()
    assert dash.range.to_ms - dash.range.from_ms == 6 * 3600 * 1000

    view = paaf.DashboardView(window=paaf.TimeWindow(_from="now-1h", to="now"), variables={"instance": ["web-2"]})
    Grafana.posted.clear()
    data = run(p.panel_data(None, "node", 1, view, 20))
    # One query failed, the other's series is still there, thinned to the width.
    [error] = data.errors
    assert (error.ref_id, error.status) == ("B", 400) and "parse error" in error.message
    [panel_series] = data.series
    series, stats = panel_series.series, panel_series.stats
    assert series.ref_id == "A" and series.labels["instance"] == "web-1:9100"
    assert 2 < len(series.values) <= 20 and len(series.times_ms) == len(series.values)
    assert 0.0 in series.values, "the dip is an extreme: LTTB keeps it"
    # The stats cover every point sent, not only those kept.
    assert (stats.min, stats.max, stats.count) == (0.0, 1.0, 100)
    assert data.to_ms - data.from_ms == 3600 * 1000
    [(path, body)] = Grafana.posted
    sent = {q["refId"]: q for q in body["queries"]}
    assert sent["A"]["expr"] == 'up{instance=~"web-2"}' and sent["A"]["maxDataPoints"] == 20

    # A panel of the collapsed row, answered with a long frame: one series per host.
    load = run(p.panel_data(None, "node", 5, DEFAULT_VIEW, 300))
    assert sorted((s.series.labels["host"], s.series.values) for s in load.series) == [("web-1", [0.5, 0.7]), ("web-2", [2.0, 2.5])]
    assert load.errors == [] and load.skipped == []


def test_annotate_on_a_panel(grafana):
    p = opened(grafana)
    Grafana.posted.clear()
    note = paaf.AnnotationInput(text="web-2 rebooted by alice via paaf", tags=["paaf"], dashboard_uid="node", panel_id=1)
    assert run(p.annotate(None, note)) == 7
    [(path, body)] = Grafana.posted
    assert path == "/api/annotations"
    assert {k: body[k] for k in ("dashboardUID", "panelId", "tags", "text")} == {
        "dashboardUID": "node",
        "panelId": 1,
        "tags": ["paaf"],
        "text": "web-2 rebooted by alice via paaf",
    }
    assert any(r.kind == paaf.ActionKind.ANNOTATE for r in p.journal(None, 5))


def test_a_refused_token_and_a_missing_dashboard_have_their_codes(grafana):
    with pytest.raises(paaf.PaafError) as e:
        run(opened(grafana, token="glsa_wrong").dashboards(None, None, [], False))
    assert e.value.code == Code.AUTH_FAILED
    assert "glsa_wrong" not in str(e.value)
    with pytest.raises(paaf.PaafError) as e:
        run(opened(grafana).dashboard(None, "gone", DEFAULT_VIEW))
    assert e.value.code == Code.NOT_FOUND
