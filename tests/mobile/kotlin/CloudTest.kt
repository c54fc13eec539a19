// The cloud servers through the Kotlin bindings on the JVM, against a real moto_server (an
// in-memory AWS EC2, tests/peers/moto.sh) that run.sh starts with the instances it names in
// PAAF_TEST_EC2: listing, the cached list, stop and start read back from EC2, a reboot's cancel,
// and the Fix screen's hosts and servers in one list.
package dev.paaf.tests

import dev.paaf.core.ActionKind
import dev.paaf.core.ActionState
import dev.paaf.core.Confirmation
import dev.paaf.core.ErrorCode
import dev.paaf.core.Evidence
import dev.paaf.core.PowerAction
import dev.paaf.core.ServerProgress
import dev.paaf.core.ServerStatus
import dev.paaf.core.AuthInput
import dev.paaf.core.HostCheck
import dev.paaf.core.HostInput
import dev.paaf.core.Level
import dev.paaf.core.SecretInput
import dev.paaf.mobile.ConfigSource
import dev.paaf.mobile.MachineAction
import dev.paaf.mobile.MachineKind
import dev.paaf.mobile.Paaf
import dev.paaf.mobile.PaafException
import dev.paaf.mobile.ServerPowerListener
import java.io.File
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.Collections
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.Timeout

/** The reads a [ServerPowerListener] receives, on paaf's threads. */
class SeenPower : ServerPowerListener {
    val reads: MutableList<ServerProgress> = Collections.synchronizedList(mutableListOf())

    override fun onProgress(progress: ServerProgress) {
        reads += progress
    }
}

class CloudTest {
    @get:Rule val timeout: Timeout = Timeout.seconds(120)

    private fun testEnv(name: String): String =
        System.getenv(name) ?: error("$name is not set: run tests/mobile/kotlin/run.sh")

    private val motoUrl = testEnv("PAAF_TEST_MOTO_URL")

    /** The instances run.sh made: name → id. */
    private val ids: Map<String, String> = testEnv("PAAF_TEST_EC2").split(";").associate {
        val (name, id) = it.split("=")
        name to id
    }

    private fun id(name: String) = ids[name] ?: error("run.sh made no instance $name: $ids")

    /** paaf on account `prod` (moto, two regions), its secret in the app's store; `extra` after. */
    private fun open(name: String, extra: String = ""): Paaf {
        val dir = File(testEnv("PAAF_TEST_APPS_DIR"), "cloud-$name").apply { mkdirs() }
        val text = "operator = \"kotlin-tests\"\n[[clouds]]\nname = \"prod\"\ntype = \"aws\"\n" +
            "regions = [\"eu-west-1\", \"us-east-1\"]\naccess_key_id = \"AKIDEXAMPLE\"\n" +
            "secret_access_key = \"keyring:aws-prod\"\nendpoint = \"$motoUrl\"\n$extra"
        val store = MapStore().apply { values["aws-prod"] = "moto-accepts-any-secret" }
        return Paaf.open(ConfigSource.Text(text, File(dir, "config.toml").path), store, "test-phone")
    }

    /**
     * The instance's state as EC2 itself answers it (DescribeInstances to moto, not through
     * paaf): the evidence a stop or start is read against.
     */
    private fun ec2State(region: String, id: String): String {
        val body = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=" + URLEncoder.encode(id, "UTF-8")
        val request = HttpRequest.newBuilder(URI(motoUrl))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/$region/ec2/aws4_request, SignedHeaders=host, Signature=0")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build()
        val xml = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString()).body()
        return Regex("<instanceState>\\s*<code>\\d+</code>\\s*<name>(\\w+)</name>").find(xml)?.groupValues?.get(1)
            ?: throw AssertionError("no state of $id in moto's answer: $xml")
    }

    @Test
    fun serversListsTheInstancesOfBothRegionsAndTheCachedListShowsThemBeforeTheNextRead() = runBlocking {
        val paaf = open("list")
        assertNull("nothing listed yet", paaf.cachedServers())
        val started = System.currentTimeMillis()
        val inventory = paaf.servers(null)
        assertTrue(inventory.errors.toString(), inventory.errors.isEmpty())
        val byName = inventory.servers.associateBy { it.name }
        val web = byName["kt-web-1"]!!
        val batch = byName["kt-batch-1"]!!
        assertEquals(id("kt-web-1") to "eu-west-1", web.id to web.region)
        assertEquals(id("kt-batch-1") to "us-east-1", batch.id to batch.region)
        assertEquals(ServerStatus.RUNNING to "running", batch.status to batch.rawState)
        assertEquals("aws" to "prod", batch.provider to batch.account)
        assertEquals("kt-batch-1", batch.tags["Name"])
        assertTrue(batch.privateIps.isNotEmpty())
        // Every instance run.sh made is listed.
        assertTrue(inventory.servers.map { it.id }.containsAll(ids.values))

        // The full listing is kept: the next start of the app shows it at once, with its age.
        val cached = paaf.cachedServers()!!
        assertEquals(inventory.servers.map { it.id }, cached.servers.map { it.id })
        assertTrue(cached.fetchedAtMs in (started - 1000)..(System.currentTimeMillis() + 1000))

        // One account only; an unknown one is a typed error.
        assertTrue(paaf.servers("prod").servers.any { it.id == id("kt-batch-1") })
        val unknown = thrown<PaafException.Input> { runBlocking { paaf.servers("nope") } }
        assertEquals(ErrorCode.NOT_FOUND, unknown.code)
    }

    @Test
    fun anAccountWhoseSecretIsMissingIsARowWithItsCodeNotAFailure() = runBlocking {
        val staging = "[[clouds]]\nname = \"staging\"\ntype = \"aws\"\nregions = [\"eu-west-1\"]\n" +
            "access_key_id = \"AKID2\"\nsecret_access_key = \"keyring:aws-staging\"\nendpoint = \"$motoUrl\"\n"
        val inventory = open("missing-secret", staging).servers(null)
        val error = inventory.errors.single()
        assertEquals("staging" to ErrorCode.SECRET, error.account to error.error.code)
        assertTrue(inventory.servers.any { it.id == id("kt-web-1") })
    }

    @Test
    fun stopAndStartAreReadBackFromEc2WithTheListenerSeeingEachState() = runBlocking {
        val paaf = open("power")
        val power = id("kt-power-1")
        assertEquals("running", ec2State("eu-west-1", power))

        // Without a confirmation: refused before anything is sent.
        val refused = paaf.serverPower("prod", "kt-power-1", PowerAction.STOP, Confirmation.None, SeenPower())
        val unconfirmed = thrown<PaafException.Input> { runBlocking { refused.use { it.result() } } }
        assertEquals(ErrorCode.CONFIRMATION_REQUIRED, unconfirmed.code)
        assertEquals("running", ec2State("eu-west-1", power))

        val seen = SeenPower()
        val stopped = paaf.serverPower("prod", "kt-power-1", PowerAction.STOP, Confirmation.Yes, seen)
            .use { it.result() }
        assertEquals(power to ServerStatus.STOPPED, stopped.server.id to stopped.server.status)
        assertEquals(Evidence.StateReadBack("stopped"), stopped.evidence)
        assertEquals(ServerStatus.STOPPING, stopped.accepted.status)
        assertEquals(ServerStatus.STOPPED, stopped.seen.last())
        assertEquals(stopped.polls.toInt(), seen.reads.size)
        assertEquals(ServerStatus.STOPPED, seen.reads.last().server.status)
        assertEquals(1, seen.reads.map { it.actionId }.toSet().size)
        // EC2 itself says so, and so does the next listing.
        assertEquals("stopped", ec2State("eu-west-1", power))
        assertEquals(ServerStatus.STOPPED, paaf.servers("prod").servers.single { it.id == power }.status)
        // The cached list is the last full listing (every account), read here.
        assertEquals(ServerStatus.STOPPED, paaf.servers(null).servers.single { it.id == power }.status)
        assertEquals(ServerStatus.STOPPED, paaf.cachedServers()!!.servers.single { it.id == power }.status)

        // By id, without the account: found in the one account there is.
        val seenStart = SeenPower()
        val started = paaf.serverPower(null, power, PowerAction.START, Confirmation.Yes, seenStart).use { it.result() }
        assertEquals(Evidence.StateReadBack("running"), started.evidence)
        assertEquals(ServerStatus.RUNNING, seenStart.reads.last().server.status)
        assertEquals("running", ec2State("eu-west-1", power))

        val rows = paaf.journal("prod/$power", 10u)
        assertEquals(listOf(ActionKind.SERVER_START to ActionState.SUCCEEDED, ActionKind.SERVER_STOP to ActionState.SUCCEEDED),
            rows.take(2).map { it.kind to it.state })
        assertTrue(rows.all { it.frontend == "mobile" })
        assertTrue(rows.none { "moto-accepts-any-secret" in "${it.detail} ${it.result}" })
    }

    @Test
    fun aProgressListenerThatThrowsDoesNotStopTheStopItWatches() = runBlocking {
        // The app's listener failing (its own bug) is no reason to abandon the action: the stop
        // still ends, read back from EC2, and the journal has its end. Before, uniffi panicked
        // on the exception: the task died ("stopped without a result"; the journal row left
        // running) where panics unwind, and the phone app aborted where they do not.
        val paaf = open("throwing")
        val calls = java.util.concurrent.atomic.AtomicInteger()
        val throwing = object : ServerPowerListener {
            override fun onProgress(progress: ServerProgress) {
                calls.incrementAndGet()
                throw IllegalStateException("a bug in the app's listener")
            }
        }
        val outcome = paaf.serverPower("prod", "kt-throw-1", PowerAction.STOP, Confirmation.Yes, throwing)
            .use { it.result() }
        assertEquals(Evidence.StateReadBack("stopped"), outcome.evidence)
        assertEquals(outcome.polls.toInt(), calls.get())
        assertEquals("stopped", ec2State("eu-west-1", id("kt-throw-1")))
        val row = paaf.journal("prod/${id("kt-throw-1")}", 1u).single()
        assertEquals(ActionKind.SERVER_STOP to ActionState.SUCCEEDED, row.kind to row.state)
    }

    @Test
    fun aRebootWatchedForASignIsCancelledFromTheOperationAndTheJournalSaysSo() = runBlocking {
        // EC2 shows nothing of a reboot; paaf watches it for reboot_watch_secs: cancelled here.
        val paaf = open("cancel", "reboot_watch_secs = 60\n")
        val seen = SeenPower()
        val operation = paaf.serverPower("prod", "kt-reboot-1", PowerAction.REBOOT, Confirmation.Yes, seen)
        val deadline = System.currentTimeMillis() + 30_000
        while (seen.reads.isEmpty() && System.currentTimeMillis() < deadline) Thread.sleep(50)
        assertTrue("no read of the reboot within 30 s", seen.reads.isNotEmpty())
        operation.cancel()
        val cancelled = thrown<PaafException> { runBlocking { operation.result() } }
        assertEquals(ErrorCode.CANCELLED, code(cancelled))
        assertTrue(operation.isFinished())
        operation.close()
        val row = paaf.journal("prod/${id("kt-reboot-1")}", 5u).first()
        assertEquals(ActionKind.SERVER_REBOOT, row.kind)
        assertTrue(row.state.toString(), row.state != ActionState.SUCCEEDED && row.state != ActionState.RUNNING)
        assertEquals("running", ec2State("eu-west-1", id("kt-reboot-1")))
    }

    @Test
    fun fixListsTheHostAndTheServersInOneListAndStopsAndStartsAServerAfterTheConfirmation() {
        val port = testEnv("PAAF_TEST_PORT").toInt()
        waitForTestHost(port, File(testEnv("PAAF_TEST_HOST_DIR")))
        val paaf = open("fix")
        runBlocking {
            val input = HostInput("web-1", "127.0.0.1", port.toUShort(), "paaf-test",
                AuthInput.Password(SecretInput.Value("paaf-test-password")))
            paaf.addHost(input, HostCheck.NoConnect)
            paaf.trustHostKey("web-1", paaf.probeHostKey("web-1").fingerprint)
        }
        val fix = paaf.fixScreen()
        val seen = SeenFix()
        fix.subscribe(seen).use {
            val listed = seen.until("web-1 and the servers") { s -> !s.busy && s.machines.size > 1 }
            val host = listed.machines.single { it.kind == MachineKind.HOST }
            assertEquals("web-1" to listOf(MachineAction.REBOOT), host.name to host.actions)
            val server = listed.machines.single { it.name == "kt-fix-1" }
            assertEquals(MachineKind.SERVER to id("kt-fix-1"), server.kind to server.id)
            assertEquals("prod", server.account)
            assertEquals(listOf(MachineAction.REBOOT, MachineAction.STOP), server.actions)
            // EC2 reports no metrics: none shown, the row ok; the host has its four.
            assertEquals(0 to Level.OK, server.metrics.size to server.level)
            assertEquals(4, host.metrics.size)
            assertTrue(listed.machines.map { it.id }.containsAll(ids.values))

            // No: nothing happens.
            fix.ask("kt-fix-1", MachineAction.STOP)
            seen.until("the confirmation") { it.asking != null }
            fix.dismiss()
            seen.until("the dialog closed") { it.asking == null }
            assertEquals("running", ec2State("eu-west-1", id("kt-fix-1")))

            fix.ask("kt-fix-1", MachineAction.STOP)
            val asked = seen.until("the confirmation") { it.asking != null }.asking!!
            assertTrue(asked.question, asked.question.startsWith("Stop "))
            assertTrue(asked.steps.toString(), asked.steps.isNotEmpty())
            fix.confirm()
            val stopped = seen.until("the stop ended") { it.running?.finished == true }.running!!
            assertNull(stopped.error)
            assertTrue(stopped.outcome, stopped.verified)
            assertTrue(stopped.progress.isNotEmpty())
            assertNotNull(stopped.actionId)
            assertEquals("stopped", ec2State("eu-west-1", id("kt-fix-1")))
            val after = seen.until("the list read again") { s ->
                s.machines.any { it.name == "kt-fix-1" && it.status == "stopped" }
            }
            assertEquals(listOf(MachineAction.START), after.machines.single { it.name == "kt-fix-1" }.actions)

            fix.ask("kt-fix-1", MachineAction.START)
            seen.until("the start's confirmation") { it.asking?.action == MachineAction.START }
            fix.confirm()
            val started = seen.until("the start ended") { s ->
                s.running?.let { it.finished && it.action == MachineAction.START } == true
            }.running!!
            assertTrue(started.outcome, started.verified)
            assertEquals("running", ec2State("eu-west-1", id("kt-fix-1")))
        }
        fix.close()
    }

    @Test
    fun fixCancelsAServerRebootWhileItIsWatched() {
        val paaf = open("fix-cancel", "reboot_watch_secs = 60\n")
        val fix = paaf.fixScreen()
        val seen = SeenFix()
        fix.subscribe(seen).use {
            seen.until("kt-fix-2") { s -> s.machines.any { it.name == "kt-fix-2" } }
            fix.ask("kt-fix-2", MachineAction.REBOOT)
            seen.until("the confirmation") { it.asking != null }
            fix.confirm()
            seen.until("a first read") { it.running?.progress?.isNotEmpty() == true }
            fix.cancel()
            val ended = seen.until("the reboot ended") { it.running?.finished == true }.running!!
            assertEquals(ErrorCode.CANCELLED, ended.error?.code)
            assertTrue(!ended.verified)
        }
        fix.close()
    }
}
