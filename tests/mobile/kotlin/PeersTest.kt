// The Protect, Overview, Analyze and Alert screen models and the incident calls through the
// Kotlin bindings on the JVM, as a Compose app uses them (subscribe, act, observe the states),
// against the real peers run.sh starts (Prometheus + Alertmanager, Unleash) and a Grafana
// contract server answering as Grafana's HTTP API documentation says.
package dev.paaf.tests

import com.sun.net.httpserver.HttpServer
import dev.paaf.core.AlertRef
import dev.paaf.core.AnnotationInput
import dev.paaf.core.Confirmation
import dev.paaf.core.ErrorCode
import dev.paaf.core.FlagTarget
import dev.paaf.core.IncidentEventKind
import dev.paaf.core.IncidentInput
import dev.paaf.core.RunKind
import dev.paaf.core.SilenceState
import dev.paaf.core.StepEvent
import dev.paaf.core.StepStatus
import dev.paaf.core.TeamSource
import dev.paaf.core.TimeWindow
import dev.paaf.mobile.AlertListener
import dev.paaf.mobile.AlertState
import dev.paaf.mobile.AnalyzeListener
import dev.paaf.mobile.AnalyzeState
import dev.paaf.mobile.ConfigSource
import dev.paaf.mobile.OverviewListener
import dev.paaf.mobile.OverviewState
import dev.paaf.mobile.Paaf
import dev.paaf.mobile.PaafException
import dev.paaf.mobile.ProtectListener
import dev.paaf.mobile.ProtectState
import dev.paaf.mobile.StepListener
import java.io.File
import java.net.InetSocketAddress
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.Timeout

class SeenProtect : Seen<ProtectState>(), ProtectListener {
    override fun onState(state: ProtectState) = offer(state)
}

class SeenOverview : Seen<OverviewState>(), OverviewListener {
    override fun onState(state: OverviewState) = offer(state)
}

class SeenAnalyze : Seen<AnalyzeState>(), AnalyzeListener {
    override fun onState(state: AnalyzeState) = offer(state)
}

class SeenAlert : Seen<AlertState>(), AlertListener {
    override fun onState(state: AlertState) = offer(state)
}

private const val GRAFANA_TOKEN = "glsa_paafKotlinContract_0123456789abcdef"

/**
 * A Grafana contract server: search (folder_dashboard_search), a dashboard by uid with a unit
 * and thresholds (dashboard/#get-dashboard-by-uid), its data sources (data_source/), a point a
 * second over the asked range from `/api/ds/query` (data_source/#query-a-data-source) and
 * annotations (annotations/#create-annotation), all under
 * https://grafana.com/docs/grafana/latest/developers/http_api/. Wrong token: 401.
 */
class GrafanaContract : AutoCloseable {
    private val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    val url get() = "http://127.0.0.1:${server.address.port}"
    val bodies = CopyOnWriteArrayList<String>()

    init {
        server.createContext("/") { exchange ->
            val body = exchange.requestBody.readBytes().decodeToString()
            bodies.add("${exchange.requestURI.path} $body")
            val authorized = exchange.requestHeaders.getFirst("Authorization") == "Bearer $GRAFANA_TOKEN"
            val query = exchange.requestURI.query ?: ""
            val (status, answer) = when {
                !authorized -> 401 to """{"message":"Unauthorized"}"""
                exchange.requestURI.path == "/api/search" && query.contains("starred=true") ->
                    200 to "[${hit("checkout", true)}]"
                exchange.requestURI.path == "/api/search" ->
                    200 to "[${hit("checkout", true)},${hit("nodes", false)}]"
                exchange.requestURI.path == "/api/dashboards/uid/checkout" -> 200 to DASHBOARD
                exchange.requestURI.path == "/api/datasources" ->
                    200 to """[{"id":1,"uid":"prom","name":"Prometheus","type":"prometheus","isDefault":true,"jsonData":{}}]"""
                exchange.requestURI.path == "/api/ds/query" -> 200 to frames(body)
                exchange.requestURI.path == "/api/annotations" -> 200 to """{"message":"Annotation added","id":7}"""
                else -> 404 to """{"message":"Not found"}"""
            }
            val bytes = answer.encodeToByteArray()
            exchange.responseHeaders.add("Content-Type", "application/json")
            exchange.sendResponseHeaders(status, bytes.size.toLong())
            exchange.responseBody.use { it.write(bytes) }
        }
        server.start()
    }

    private fun hit(uid: String, starred: Boolean) =
        """{"id":1,"uid":"$uid","title":"${uid.replaceFirstChar { it.uppercase() }}","url":"/d/$uid/x","type":"dash-db","tags":[],"isStarred":$starred}"""

    /** A series per query: a point a second over the range, 0..9 repeated, one spike of 500. */
    private fun frames(body: String): String {
        val from = Regex("\"from\":\"(\\d+)\"").find(body)!!.groupValues[1].toLong()
        val to = Regex("\"to\":\"(\\d+)\"").find(body)!!.groupValues[1].toLong()
        val times = (from..to step 1000).toList()
        val values = times.indices.map { if (it == times.size / 2) 500.0 else (it % 10).toDouble() }
        val refIds = Regex("\"refId\":\"(\\w+)\"").findAll(body).map { it.groupValues[1] }.toList()
        val results = refIds.joinToString(",") { ref ->
            """"$ref":{"status":200,"frames":[{"schema":{"refId":"$ref","fields":[
               {"name":"Time","type":"time","typeInfo":{"frame":"time.Time"}},
               {"name":"Value","type":"number","typeInfo":{"frame":"float64","nullable":true}}]},
               "data":{"values":[${times.joinToString(",", "[", "]")},${values.joinToString(",", "[", "]")}]}}]}"""
        }
        return """{"results":{$results}}"""
    }

    override fun close() = server.stop(0)

    companion object {
        const val DASHBOARD = """{"dashboard":{"uid":"checkout","title":"Checkout","schemaVersion":39,
            "time":{"from":"now-1h","to":"now"},
            "panels":[{"id":2,"type":"timeseries","title":"Errors","gridPos":{"x":0,"y":0,"w":24,"h":8},
              "datasource":{"type":"prometheus","uid":"prom"},
              "fieldConfig":{"defaults":{"unit":"reqps","thresholds":{"mode":"absolute",
                "steps":[{"color":"green","value":null},{"color":"red","value":100}]}}},
              "targets":[{"refId":"A","expr":"rate(http_errors_total{env=\"${'$'}env\"}[5m])"}]}],
            "templating":{"list":[{"name":"env","type":"custom","query":"prod,staging",
              "current":{"text":"prod","value":"prod"}}]}},
            "meta":{"url":"/d/checkout/checkout"}}"""
    }
}

class PeersTest {
    @get:Rule val timeout: Timeout = Timeout.seconds(180)

    private val prometheus = testEnv("PAAF_TEST_PROMETHEUS")
    private val alertmanager = testEnv("PAAF_TEST_ALERTMANAGER")
    private val unleashUrl = testEnv("PAAF_TEST_UNLEASH_URL")
    private val unleashToken = testEnv("PAAF_TEST_UNLEASH_TOKEN")

    private fun testEnv(name: String): String =
        System.getenv(name) ?: error("$name is not set: run tests/mobile/kotlin/run.sh")

    private fun open(name: String, config: String, store: MapStore = MapStore()): Paaf {
        val dir = File(testEnv("PAAF_TEST_APPS_DIR"), "peers-$name").apply { mkdirs() }
        val text = "operator = \"kotlin-tests\"\n$config"
        return Paaf.open(ConfigSource.Text(text, File(dir, "config.toml").path), store, "test-phone")
    }

    private val monitoring get() =
        "[[monitoring]]\nname = \"prom\"\ntype = \"prometheus\"\nurl = \"$prometheus\"\n" +
            "[[monitoring]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"$alertmanager\"\n"

    private val flags get() =
        "[[flags]]\nname = \"prod\"\ntype = \"unleash\"\nurl = \"$unleashUrl\"\ntoken = \"keyring:unleash\"\n"

    /** paaf on the Prometheus peers and [grafana] (`ops`), its token in the app's store. */
    private fun openWithGrafana(name: String, grafana: GrafanaContract): Paaf {
        val store = MapStore().apply { values["grafana"] = GRAFANA_TOKEN }
        val ops = "[[monitoring]]\nname = \"ops\"\ntype = \"grafana\"\nurl = \"${grafana.url}\"\ntoken = \"keyring:grafana\"\n"
        return open(name, monitoring + ops, store)
    }

    private fun unleashStore() = MapStore().apply { values["unleash"] = unleashToken }

    /**
     * Whether [flag] is on in [env], read from Unleash's admin API (not through paaf): the
     * feature environment (https://docs.getunleash.io/reference/api/unleash/get-feature-environment).
     */
    private fun enabled(flag: String, env: String): Boolean {
        val url = "$unleashUrl/api/admin/projects/default/features/$flag/environments/$env"
        val request = HttpRequest.newBuilder(URI(url)).header("Authorization", unleashToken).build()
        val body = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).body()
        val enabled = Regex("\"enabled\"\\s*:\\s*(true|false)").find(body)
            ?: throw AssertionError("$flag has no state in $env: $body")
        return enabled.groupValues[1] == "true"
    }

    @Test
    fun protectSwitchesAFlagOffOnUnleashAfterTheConfirmationAndUndoesIt() {
        val paaf = open("protect", flags, unleashStore())
        val protect = paaf.protectScreen()
        val seen = SeenProtect()
        protect.subscribe(seen).use {
            seen.until("the flags") { s -> !s.busy && s.services.any { it.flags.isNotEmpty() } }
            protect.search("kill-search")
            val found = seen.until("the search") { s ->
                !s.busy && s.query == "kill-search" && s.services.single().flags.size == 1
            }
            assertEquals("kill-search", found.services.single().flags.single().key)

            protect.askSwitch(FlagTarget(null, "", "kill-search", "production"), false)
            val asked = seen.until("the confirmation") { it.asking != null }.asking!!
            assertEquals("Turn kill-search in production (unleash `prod`) OFF? It is ON now.", asked.question)
            protect.confirm()
            val changed = seen.until("the change") { it.lastChange != null && !it.busy }
            assertTrue(changed.canUndo)
            assertTrue(protect.state().canUndo)
            assertFalse(enabled("kill-search", "production"))
            assertTrue(enabled("kill-search", "development"))

            protect.askUndo()
            seen.until("the undo's confirmation") { it.asking != null }
            protect.confirm()
            val undone = seen.until("the undo") { it.lastChange?.enabled == true && !it.busy }
            assertFalse(undone.canUndo)
            assertTrue(enabled("kill-search", "production"))
        }
        protect.close()
        paaf.close()
    }

    @Test
    fun overviewShowsTheFiringAlertAndOpensAndResolvesAnIncidentFromIt() {
        val paaf = open("overview", monitoring)
        val overview = paaf.overviewScreen()
        val seen = SeenOverview()
        overview.subscribe(seen).use {
            var state = seen.until("a first read") { it.overview != null && !it.busy }
            while (state.overview!!.topAlerts.none { it.name == "PaafTestAlwaysFiring" }) {
                Thread.sleep(1_000)
                overview.refresh()
                state = seen.until("a refresh") { !it.busy }
            }
            assertNull(state.incident)
            overview.openIncident(IncidentInput("", null, AlertRef("prom", "PaafTestAlwaysFiring", emptyMap()), null, false))
            val opened = seen.until("the incident") { it.incident != null && !it.busy }
            assertEquals("PaafTestAlwaysFiring", opened.incident!!.alert!!.name)
            assertEquals(opened.incident!!.id, overview.state().incident!!.id)
            overview.resolveIncident("rule fixed")
            val resolved = seen.until("no incident") { it.incident == null && !it.busy }
            assertNull(resolved.error)
            assertTrue(paaf.incidents(true, 5u).isEmpty())
        }
        overview.close()
        paaf.close()
    }

    @Test
    fun analyzeOpensADashboardBucketedForTheWidthAndRunsAQuickQuery() {
        GrafanaContract().use { grafana ->
            val paaf = openWithGrafana("analyze", grafana)
            val analyze = paaf.analyzeScreen()
            val seen = SeenAnalyze()
            analyze.subscribe(seen).use {
                seen.until("the list") { it.dashboards.size == 2 }
                analyze.showStarred(true)
                val starred = seen.until("the starred") { it.starredOnly && !it.busy && it.dashboards.size == 1 }
                assertEquals("checkout", starred.dashboards.single().uid)

                analyze.setWidth(200u)
                analyze.openDashboard("checkout")
                val opened = seen.until("the dashboard") { it.dashboard != null && !it.busy }
                val chart = opened.dashboard!!.panels.single().chart!!
                assertEquals("reqps", chart.unit)
                assertEquals(100.0, chart.thresholds!!.steps[1].value!!, 0.0)
                val series = chart.series.single()
                assertTrue(series.columns.size in 199..200)
                assertEquals(500.0, series.max.filterNotNull().max(), 0.0)
                assertEquals(500.0, series.stats.max!!, 0.0)

                analyze.setVariable("env", listOf("staging"))
                seen.until("staging") { s -> !s.busy && s.dashboard?.variables?.first()?.values == listOf("staging") }
                assertTrue(grafana.bodies.any { it.startsWith("/api/ds/query") && it.contains("env=\\\"staging\\\"") })
                analyze.setWindow(TimeWindow("now-15m", "now"))
                seen.until("15 minutes") { s -> !s.busy && s.dashboard?.let { it.toMs - it.fromMs } == 900_000L }

                var query = opened.query
                while (query == null || query.series.isEmpty()) {
                    analyze.runQuery("prom", "up")
                    query = seen.until("the query") { it.query != null && !it.busy }.query
                    if (query!!.series.isEmpty()) Thread.sleep(1_000)
                }
                assertTrue(query.series.all { s -> s.columns.all { it < 200u } })

                // The same reads as the screen's, called directly, with the screen's view.
                val view = analyze.state().view
                assertEquals(listOf("checkout", "nodes"), runBlocking { paaf.dashboards(null, null, listOf(), false) }.map { it.uid })
                val dashboard = runBlocking { paaf.dashboard(null, "checkout", view) }
                assertEquals("Checkout" to listOf(2L), dashboard.title to dashboard.panels.map { it.id })
                val data = runBlocking { paaf.panelData(null, "checkout", 2L, view, 100u) }
                assertEquals(2L, data.panelId)
                assertTrue(data.errors.isEmpty())
                assertEquals(900_000L, data.toMs - data.fromMs)
                assertTrue(data.series.isNotEmpty())

                analyze.closeDashboard()
                seen.until("the list again") { it.dashboard == null && !it.busy }
                analyze.useGrafana("ops")
                val ops = seen.until("ops") { it.grafana == "ops" && !it.busy }
                assertEquals(listOf("ops"), ops.grafanaSources)
                assertTrue(ops.dashboards.isNotEmpty())
                assertNull(analyze.state().dashboard)
            }
            analyze.close()
            paaf.close()
        }
    }

    @Test
    fun alertSilencesAfterAConfirmationExpiresAndAnnotatesGrafana() {
        GrafanaContract().use { grafana ->
            val paaf = openWithGrafana("alert", grafana)
            val alert = paaf.alertScreen()
            val seen = SeenAlert()
            alert.subscribe(seen).use {
                val first = seen.until("a first read") { !it.busy }
                assertEquals(listOf("am", "ops"), first.silenceSources)
                assertEquals("am", alert.state().source)
                val opsSilences = { grafana.bodies.count { it.startsWith("/api/alertmanager/grafana/api/v2/silences") } }
                val readBefore = opsSilences()
                alert.useSource("ops")
                // The source changes at once; its silences are read from Grafana's Alertmanager.
                val deadline = System.currentTimeMillis() + 30_000
                while (opsSilences() == readBefore) {
                    assertTrue("the ops silences were never read", System.currentTimeMillis() < deadline)
                    Thread.sleep(50)
                }
                seen.until("the ops silences") { it.source == "ops" && !it.busy }
                alert.useSource("am")
                seen.until("the am silences") { it.source == "am" && !it.busy }
                // The confirmation names what it mutes and how many alerts fire now; no: nothing.
                var state = first
                while (state.alerts.none { s -> s.source == "am" && s.alerts.any { it.name == "PaafTestAlwaysFiring" } }) {
                    Thread.sleep(1_000)
                    alert.refresh()
                    state = seen.until("a refresh") { !it.busy }
                }
                val matchers = listOf("alertname=PaafTestAlwaysFiring")
                alert.askSilence(matchers, 30u, "kotlin looks at it")
                val ask = seen.until("the confirmation") { it.asking != null && !it.busy }.asking!!
                assertEquals(matchers, ask.matchers)
                assertEquals(1u, ask.matchingNow)
                assertEquals(listOf("PaafTestAlwaysFiring"), ask.matchingNames)
                assertTrue(ask.question, ask.question.startsWith("Silence 1 alert firing now on am ("))
                alert.dismiss()
                seen.until("the dialog closed") { it.asking == null }
                assertTrue(runBlocking { paaf.silences("am") }.none { it.comment == "kotlin looks at it" })

                alert.askSilence(matchers, 30u, "kotlin looks at it")
                seen.until("the confirmation") { it.asking != null && !it.busy }
                alert.confirm()
                val added = seen.until("the silence") { s -> !s.busy && s.lastSilence != null && s.silences.isNotEmpty() }
                val row = added.silences.first { it.silence.id == added.lastSilence }
                assertEquals(SilenceState.ACTIVE, row.silence.state)
                assertEquals("kotlin looks at it", row.silence.comment)
                assertTrue(row.canExpire)
                assertEquals(listOf("alertname=\"PaafTestAlwaysFiring\""), row.matchers)

                alert.expireSilence(row.silence.id)
                val expired = seen.until("expired") { s ->
                    !s.busy && s.silences.any { it.silence.id == row.silence.id && it.silence.state == SilenceState.EXPIRED }
                }
                assertTrue(expired.silences.first { it.silence.id == row.silence.id }.canExpire.not())

                alert.askSilence(listOf("no matcher"), 30u, "x")
                val refused = seen.until("the refusal") { it.error != null && !it.busy }
                assertEquals(ErrorCode.INVALID_INPUT, refused.error!!.code)
                assertEquals(null, refused.asking)

                alert.annotate(null, AnnotationInput("rolled back", listOf("deploy"), "checkout", 2L))
                val annotated = seen.until("the annotation") { it.lastAnnotation != null && !it.busy }
                assertEquals(7L, annotated.lastAnnotation)
                assertTrue(grafana.bodies.any { it.startsWith("/api/annotations") && it.contains("rolled back") })
            }
            alert.close()
            paaf.close()
        }
    }

    @Test
    fun aFlagIsReadSwitchedWithAConfirmationRefusedWhenStaleAndUndoneOnUnleash() = runBlocking {
        val paaf = open("flags", flags, unleashStore())
        val listed = paaf.flags("prod", "new-checkout", "production").single()
        assertNull(listed.error)
        assertEquals(listOf("new-checkout"), listed.flags.map { it.key })

        val target = FlagTarget(null, "", "new-checkout", "production")
        val now = paaf.flagState(target)
        assertTrue(now.enabled)
        val unconfirmed = thrown<PaafException.Input> { runBlocking { paaf.setFlag(target, false, now, Confirmation.None) } }
        assertEquals(ErrorCode.CONFIRMATION_REQUIRED, unconfirmed.code)
        assertTrue(enabled("new-checkout", "production"))
        val change = paaf.setFlag(target, false, now, Confirmation.Yes)
        assertEquals(true to false, change.wasEnabled to change.enabled)
        assertFalse(paaf.flagState(target).enabled)
        assertFalse(enabled("new-checkout", "production"))
        // The user saw ON, it is OFF now: refused, nothing written.
        val stale = thrown<PaafException.Remote> { runBlocking { paaf.setFlag(target, true, now, Confirmation.Yes) } }
        assertEquals(ErrorCode.CONFLICT, stale.code)
        assertFalse(enabled("new-checkout", "production"))

        val undone = paaf.undoFlag(change.actionId, Confirmation.Yes)
        assertTrue(undone.enabled)
        assertTrue(enabled("new-checkout", "production"))
        paaf.close()
    }

    @Test
    fun theMonitoringCallsReadPrometheusAndAlertmanagerAndSilenceThere() = runBlocking {
        val paaf = open("monitoring", monitoring)
        val targets = paaf.targets("prom")
        assertTrue(targets.toString(), targets.isNotEmpty() && targets.all { it.scrapeUrl.startsWith("http://127.0.0.1:") })

        val deadline = System.currentTimeMillis() + 60_000
        var firing = paaf.alerts("am").single()
        while (firing.alerts.none { it.name == "PaafTestAlwaysFiring" }) {
            assertTrue("Alertmanager never got PaafTestAlwaysFiring", System.currentTimeMillis() < deadline)
            Thread.sleep(1_000)
            firing = paaf.alerts("am").single()
        }
        assertEquals("am", firing.source)
        assertNull(firing.error)
        val overview = paaf.overview()
        assertTrue(overview.firing >= 1u)
        assertTrue(overview.topAlerts.any { it.name == "PaafTestAlwaysFiring" })

        var up = paaf.query("prom", "up", null, null, 50u)
        while (up.series.isEmpty()) {
            assertTrue("Prometheus has no `up` series", System.currentTimeMillis() < deadline)
            Thread.sleep(1_000)
            up = paaf.query("prom", "up", null, null, 50u)
        }
        assertTrue(up.warnings.isEmpty())

        val id = paaf.silence("am", listOf("alertname=PaafTestAlwaysFiring"), 5u, "kotlin silences directly")
        val silence = paaf.silences("am").first { it.id == id }
        assertEquals(SilenceState.ACTIVE, silence.state)
        assertEquals("kotlin silences directly", silence.comment)
        paaf.expireSilence("am", id)
        assertEquals(SilenceState.EXPIRED, paaf.silences("am").first { it.id == id }.state)
        val refused = thrown<PaafException.Input> { runBlocking { paaf.silence("am", listOf("no matcher"), 5u, "x") } }
        assertEquals(ErrorCode.INVALID_INPUT, refused.code)
        paaf.close()
    }

    /** The steps' events of a Protect or Stand down run. */
    class Steps : StepListener {
        val events = CopyOnWriteArrayList<StepEvent>()

        override fun onStep(event: StepEvent) {
            events.add(event)
        }
    }

    @Test
    fun anIncidentFromTheFiringAlertIsProtectedAndStoodDown() {
        val playbook = "[[playbooks]]\nname = \"checkout\"\nmatch = { alertname = \"PaafTestAlwaysFiring\" }\n" +
            "[[playbooks.protect]]\nflag = \"new-checkout\"\nenv = \"production\"\n" +
            "[[playbooks.protect]]\nsilence = \"30m\"\n"
        val paaf = open("incident", monitoring + flags + playbook, unleashStore())
        runBlocking {
            var incident = null as dev.paaf.core.Incident?
            val deadline = System.currentTimeMillis() + 60_000
            while (incident == null) {
                try {
                    incident = paaf.openIncident(IncidentInput("", null, AlertRef("prom", "PaafTestAlwaysFiring", emptyMap()), null, false))
                } catch (e: dev.paaf.mobile.PaafException) {
                    // Prometheus may not have evaluated its rule yet.
                    if (System.currentTimeMillis() > deadline) throw e
                    Thread.sleep(1_000)
                }
            }
            assertEquals("checkout", incident!!.playbook)
            val note = paaf.noteIncident(null, "kotlin looks at checkout")
            assertEquals(IncidentEventKind.NOTE to "kotlin looks at checkout", note.kind to note.text)
            assertEquals(incident.id, note.incidentId)
            val detail = paaf.incidentDetail(incident.id)
            assertEquals(incident.id, detail.incident.id)
            assertEquals(note.id, detail.events.last().id)
            assertEquals("kotlin-tests", detail.events.last().operator)

            val plan = paaf.protectPlan(null, null)
            assertEquals(RunKind.PROTECT, plan.run)
            assertEquals(2, plan.steps.size)
            val steps = Steps()
            val report = paaf.protect(plan, Confirmation.Yes, steps).use { it.result() }
            assertTrue(report.toString(), report.steps.all { it.status == StepStatus.SUCCEEDED })
            assertTrue(steps.events.isNotEmpty())
            assertFalse(enabled("new-checkout", "production"))
            val silences = paaf.silences("am")
            assertTrue(silences.any { it.state == SilenceState.ACTIVE && it.createdBy == "kotlin-tests" })

            val standDown = paaf.standDownPlan(null)
            assertEquals(RunKind.STAND_DOWN, standDown.run)
            val reversed = paaf.standDown(standDown, Confirmation.Yes, Steps()).use { it.result() }
            assertTrue(reversed.toString(), reversed.steps.all { it.status == StepStatus.SUCCEEDED })
            assertTrue(enabled("new-checkout", "production"))
            assertTrue(paaf.silences("am").none { it.state == SilenceState.ACTIVE && it.createdBy == "kotlin-tests" })
            // The team timeline: opened from an alert, the incident has that alert's team key;
            // this device is not paired, so it shows its own rows, said so, and the post-mortem
            // has no team section.
            val key = paaf.shareIncident(null, null)
            assertEquals(32, key.length)
            val team = paaf.teamTimeline(null)
            assertEquals(TeamSource.NOT_SHARED, team.source)
            assertEquals(key, team.incidentKey)
            assertTrue(team.rows.toString(), team.rows.any { it.kind == "flag-off" && it.state == "succeeded" })
            val postmortem = paaf.postmortem(null)
            assertEquals(incident.id, postmortem.incident.id)
            assertEquals(null, postmortem.team)
            assertTrue(postmortem.markdown.contains("flag-off"))
            paaf.resolveIncident(null, "stood down")
            assertTrue(paaf.incidents(true, 5u).isEmpty())
        }
        paaf.close()
    }
}
