// The Kotlin bindings of paaf-mobile on the JVM, against a real OpenSSH test host (started by
// run.sh beside this file): what an Android app does, minus Android. Each test opens its own
// paaf (own config, known_hosts and journal in its own directory) with a Kotlin SecretStore.
package dev.paaf.tests

import dev.paaf.core.ActionKind
import dev.paaf.core.ActionRecord
import dev.paaf.core.ActionState
import dev.paaf.core.AuthInput
import dev.paaf.core.Confirmation
import dev.paaf.core.ErrorCode
import dev.paaf.core.FanOutJob
import dev.paaf.core.HostAdded
import dev.paaf.core.HostCheck
import dev.paaf.core.HostInput
import dev.paaf.core.HostOutcome
import dev.paaf.core.PowerAction
import dev.paaf.core.KeyStatus
import dev.paaf.core.ProgressEvent
import dev.paaf.core.SecretInput
import dev.paaf.core.ServerProgress
import dev.paaf.core.Step
import dev.paaf.mobile.ConfigSource
import dev.paaf.mobile.FanOutListener
import dev.paaf.mobile.FanOutProgress
import dev.paaf.mobile.FleetSelector
import dev.paaf.mobile.Paaf
import dev.paaf.mobile.PaafException
import dev.paaf.mobile.ProgressListener
import dev.paaf.mobile.SecretStore
import dev.paaf.mobile.ServerPowerListener
import dev.paaf.rebootAndVerify
import dev.paaf.rebootFlow
import java.io.File
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.Collections
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.Timeout

private const val HOST = "web-1"
private const val USER = "paaf-test"
private const val PASSWORD = "paaf-test-password"
private const val DEVICE = "test-phone"

// A short backoff keeps a verified reboot (host down ~2 s) to a few seconds.
private val CONFIG = """
    operator = "kotlin-tests"

    [defaults]
    connect_timeout_secs = 5
    command_timeout_secs = 20

    [defaults.reboot]
    backoff_max_secs = 1
    shutdown_timeout_secs = 30
    timeout_secs = 60
    test_timeout_secs = 30
""".trimIndent()

private fun env(name: String): String =
    System.getenv(name) ?: error("$name is not set: run tests/mobile/kotlin/run.sh")

/** The app's keystore: a map here, Android Keystore in an app. */
class MapStore : SecretStore {
    val values = ConcurrentHashMap<String, String>()

    /** When set, `get` throws this instead of answering (a locked or broken keystore). */
    @Volatile var failure: (() -> Exception)? = null

    override fun get(name: String): String? {
        failure?.let { throw it() }
        return values[name]
    }

    override fun set(name: String, value: String) {
        values[name] = value
    }

    override fun delete(name: String) {
        values.remove(name)
    }
}

/** Collects progress events from paaf's threads. */
class Events : ProgressListener {
    val all: MutableList<ProgressEvent> = Collections.synchronizedList(mutableListOf())

    override fun onProgress(event: ProgressEvent) {
        all += event
    }

    fun steps(): List<Step> = synchronized(all) { all.map { it.step } }
}

/** Calls [block] and returns the PaafException of type [T] it throws, failing otherwise. */
inline fun <reified T : PaafException> thrown(block: () -> Unit): T {
    try {
        block()
    } catch (e: PaafException) {
        if (e is T) return e
        fail("expected ${T::class.simpleName}, got ${e::class.simpleName}: ${e.message}")
    }
    fail("expected ${T::class.simpleName}, nothing was thrown")
    error("unreachable")
}

fun code(e: PaafException): ErrorCode = when (e) {
    is PaafException.Input -> e.code
    is PaafException.Access -> e.code
    is PaafException.Connection -> e.code
    is PaafException.Remote -> e.code
    is PaafException.Cancelled -> e.code
    is PaafException.Internal -> e.code
}

/** The host is back from a previous test's reboot when its sshd answers. */
fun waitForTestHost(port: Int, hostDir: File) {
    val deadline = System.currentTimeMillis() + 30_000
    while (true) {
        val up = runCatching {
            Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 500) }
        }.isSuccess
        if (up && !File(hostDir, "reboot-requested").exists()) return
        check(System.currentTimeMillis() < deadline) { "the test host did not come back" }
        Thread.sleep(100)
    }
}

class BindingsTest {
    @get:Rule val timeout: Timeout = Timeout.seconds(90)

    private val port = env("PAAF_TEST_PORT").toInt()
    private val hostDir = File(env("PAAF_TEST_HOST_DIR"))
    private val opened = mutableListOf<Paaf>()
    private lateinit var dir: File
    private lateinit var store: MapStore
    private lateinit var paaf: Paaf

    companion object {
        private val apps = AtomicInteger()
    }

    @Before
    fun openPaaf() {
        waitForHost()
        dir = File(env("PAAF_TEST_APPS_DIR"), "app-${apps.incrementAndGet()}").apply { mkdirs() }
        store = MapStore()
        paaf = open(store)
    }

    @After
    fun closePaaf() {
        opened.forEach { it.close() }
    }

    private fun open(secrets: SecretStore): Paaf =
        Paaf.open(ConfigSource.Text(CONFIG, configFile().path), secrets, DEVICE).also { opened += it }

    private fun configFile() = File(dir, "config.toml")

    private fun bootId() = File(hostDir, "boot_id").readText().trim()

    private fun waitForHost() = waitForTestHost(port, hostDir)

    /** Adds the host without connecting (its key is trusted in a separate step); its summary. */
    private fun addHost() = runBlocking {
        val added = paaf.addHost(
            HostInput(
                name = HOST,
                address = "127.0.0.1",
                port = port.toUShort(),
                user = USER,
                auth = AuthInput.Password(SecretInput.Value(PASSWORD)),
            ),
            HostCheck.NoConnect,
        )
        (added as HostAdded.Added).host
    }

    private fun addTrustedHost() = runBlocking {
        addHost()
        paaf.trustHostKey(HOST, paaf.probeHostKey(HOST).fingerprint)
    }

    private fun rebootRows(): List<ActionRecord> = paaf.journal(HOST, 50u).filter { it.kind == ActionKind.REBOOT }

    /** The journal row of the one reboot, once it has ended. */
    private fun endedReboot(): ActionRecord {
        val deadline = System.currentTimeMillis() + 30_000
        while (true) {
            val row = rebootRows().singleOrNull()
            if (row != null && row.state != ActionState.RUNNING && row.state != ActionState.PENDING) {
                return row
            }
            check(System.currentTimeMillis() < deadline) { "the reboot did not end: $row" }
            Thread.sleep(50)
        }
    }

    // 1
    @Test
    fun openWithTheAppsStoreAndDevice() {
        val about = paaf.about()
        assertEquals("mobile", about.frontend)
        assertEquals(DEVICE, about.device)
        assertEquals("app-keystore", about.secretBackend)
        assertEquals("kotlin-tests", about.operator)
        assertEquals(configFile().canonicalPath, File(about.configPath).canonicalPath)
        assertEquals(dir.canonicalPath, File(about.journalPath).canonicalFile.parent)
        assertTrue(paaf.hosts().isEmpty())
    }

    // 2
    @Test
    fun addHostPutsThePasswordInTheAppsStoreOnly() {
        val summary = addHost()
        assertEquals(HOST, summary.name)
        assertEquals(port.toUShort(), summary.port)
        assertEquals(PASSWORD, store.values["host-$HOST-password"])
        val text = configFile().readText()
        assertFalse("the password is in the config file", text.contains(PASSWORD))
        assertTrue(text, text.contains("keyring:host-$HOST-password"))
        assertEquals(listOf(HOST), paaf.hosts().map { it.name })
    }

    // 3
    @Test
    fun theHostKeyIsTrustedOnlyOnConfirmation() = runBlocking {
        addHost()
        val offered = paaf.probeHostKey(HOST)
        assertEquals(KeyStatus.UNKNOWN, offered.status)
        assertTrue(offered.fingerprint, offered.fingerprint.startsWith("SHA256:"))

        val refused = thrown<PaafException.Access> { runBlocking { paaf.exec(HOST, "true", Confirmation.Yes) } }
        assertEquals(ErrorCode.HOST_KEY_UNKNOWN, refused.code)
        assertTrue(refused.message, refused.message.contains(offered.fingerprint))

        paaf.trustHostKey(HOST, offered.fingerprint)
        assertEquals(KeyStatus.KNOWN, paaf.probeHostKey(HOST).status)
        val status = paaf.status(listOf()).single()
        assertEquals(HOST, status.name)
        assertTrue("${status.error}", status.reachable)
        assertEquals(bootId(), status.bootId)
    }

    // 4
    @Test
    fun execNeedsAConfirmationAndAKnownHost() = runBlocking {
        addTrustedHost()
        val out = paaf.exec(HOST, "echo hi", Confirmation.Yes)
        assertEquals("hi\n", out.stdout)
        assertEquals(0, out.exitCode)

        val unconfirmed = thrown<PaafException.Input> { runBlocking { paaf.exec(HOST, "echo hi", Confirmation.None) } }
        assertEquals(ErrorCode.CONFIRMATION_REQUIRED, unconfirmed.code)
        val missing = thrown<PaafException.Input> { runBlocking { paaf.exec("db-9", "echo hi", Confirmation.Yes) } }
        assertEquals(ErrorCode.NOT_FOUND, missing.code)
        assertTrue(missing.message, missing.message.contains("db-9"))
    }

    // 5
    @Test
    fun aVerifiedRebootReportsEveryStep() = runBlocking {
        addTrustedHost()
        val before = bootId()
        val events = Events()
        val operation = paaf.reboot(HOST, Confirmation.Yes, events)
        val report = operation.result()
        assertTrue(operation.isFinished())
        operation.close()

        assertTrue(report.rebooted)
        assertEquals(before, report.bootIdBefore)
        assertNotEquals(before, report.bootIdAfter)
        assertEquals(bootId(), report.bootIdAfter)

        val steps = events.steps()
        val sent = steps.indexOfFirst { it is Step.CommandSent }
        val changed = steps.indexOfFirst { it is Step.BootIdChanged }
        assertTrue("$steps", sent >= 0 && changed > sent && steps.last() == Step.Done)
        assertEquals(Step.BootIdChanged(before, report.bootIdAfter), steps[changed])
        assertEquals(1, events.all.map { it.actionId }.toSet().size)

        val row = endedReboot()
        assertEquals(ActionState.SUCCEEDED, row.state)
        assertEquals(events.all.first().actionId, row.id)
    }

    // 5, through the Flow layer (PaafFlows.kt)
    @Test
    fun aRebootFlowEndsWithDone() = runBlocking {
        addTrustedHost()
        val before = bootId()
        val steps = paaf.rebootFlow(HOST, Confirmation.Yes).toList().map { it.step }
        assertTrue("$steps", steps.any { it is Step.CommandSent } && steps.last() == Step.Done)
        assertNotEquals(before, bootId())
        assertEquals(ActionState.SUCCEEDED, endedReboot().state)
    }

    // 6
    @Test
    fun aCancelledRebootSendsNothingAndSaysCancelled() = runBlocking {
        addTrustedHost()
        val before = bootId()
        val events = Events()
        val operation = paaf.reboot(HOST, Confirmation.Yes, events)
        operation.cancel()
        val cancelled = thrown<PaafException.Cancelled> { runBlocking { operation.result() } }
        assertEquals(ErrorCode.CANCELLED, cancelled.code)
        operation.close()

        assertTrue("${events.steps()}", events.steps().none { it is Step.CommandSent })
        assertEquals(before, bootId())
        val row = endedReboot()
        assertEquals(ActionState.FAILED, row.state)
        assertEquals("cancelled", row.errorCode)
    }

    // 6: nobody waits for the result, so the journal is where the outcome shows.
    @Test
    fun closingTheOperationCancelsTheReboot() {
        addTrustedHost()
        val before = bootId()
        val events = Events()
        paaf.reboot(HOST, Confirmation.Yes, events).close()

        val row = endedReboot()
        assertEquals(ActionState.FAILED, row.state)
        assertEquals("cancelled", row.errorCode)
        assertTrue("${events.steps()}", events.steps().none { it is Step.CommandSent })
        assertEquals(before, bootId())
    }

    // 6, through the Flow layer: a collector that stops at the first step cancels the reboot.
    @Test
    fun aCollectorThatStopsEarlyCancelsTheReboot() = runBlocking {
        addTrustedHost()
        val before = bootId()
        val first = paaf.rebootFlow(HOST, Confirmation.Yes).first()
        assertEquals(Step.Connecting(HOST), first.step)

        val row = endedReboot()
        assertEquals(ActionState.FAILED, row.state)
        assertEquals("cancelled", row.errorCode)
        assertEquals(before, bootId())
    }

    // 6, the same for the suspend function: cancelling the coroutine cancels the reboot.
    @Test
    fun cancellingTheCoroutineCancelsTheReboot() = runBlocking {
        addTrustedHost()
        val job = launch {
            paaf.rebootAndVerify(HOST, Confirmation.Yes)
            fail("the reboot was not cancelled")
        }
        yield()
        job.cancel()
        job.join()
        val row = endedReboot()
        assertEquals("cancelled", row.errorCode)
    }

    // 7
    @Test
    fun aKeystoreThatRefusesIsAnAccessError() = runBlocking {
        addTrustedHost()
        store.failure = { PaafException.Access(ErrorCode.SECRET, "the keystore is locked") }

        val onExec = thrown<PaafException.Access> { runBlocking { paaf.exec(HOST, "echo hi", Confirmation.Yes) } }
        assertEquals(ErrorCode.SECRET, onExec.code)
        assertTrue(onExec.message, onExec.message.contains("app's keystore"))
        assertTrue(onExec.message, onExec.message.contains("the keystore is locked"))

        val operation = paaf.reboot(HOST, Confirmation.Yes, Events())
        val onReboot = thrown<PaafException.Access> { runBlocking { operation.result() } }
        assertEquals(ErrorCode.SECRET, onReboot.code)
        operation.close()
        assertTrue("nothing runs without its secret", rebootRows().isEmpty())
    }

    // 7
    @Test
    fun aKeystoreThatCrashesIsAnInternalError() = runBlocking {
        addTrustedHost()
        store.failure = { IllegalStateException("keystore bug") }

        val e = thrown<PaafException> { runBlocking { paaf.exec(HOST, "echo hi", Confirmation.Yes) } }
        assertTrue("${e::class.simpleName} ${code(e)}: ${e.message}", e is PaafException.Internal)
        assertTrue(e.message, e.message!!.contains("keystore bug"))

        // paaf still works once the keystore does.
        store.failure = null
        assertEquals("hi\n", paaf.exec(HOST, "echo hi", Confirmation.Yes).stdout)
    }

    // 8
    @Test
    fun theJournalNamesTheMobileFrontendAndTheDevice() = runBlocking {
        addTrustedHost()
        paaf.exec(HOST, "echo hi", Confirmation.Yes)
        val rows = paaf.journal(null, 50u)
        val exec = rows.first { it.kind == ActionKind.EXEC }
        assertEquals(HOST, exec.target)
        assertEquals(ActionState.SUCCEEDED, exec.state)
        assertNotNull(exec.finishedAt)
        assertTrue("$rows", rows.any { it.kind == ActionKind.TRUST_HOST_KEY })
        for (row in rows) {
            assertEquals("mobile", row.frontend)
            assertEquals(DEVICE, row.device)
            assertEquals("kotlin-tests", row.operator)
        }
        assertEquals(rows, paaf.journal(HOST, 50u))
        assertTrue(paaf.journal("db-9", 50u).isEmpty())
    }

    // 9
    @Test
    fun aFanOutIsGroupedLiveAndJournaled() = runBlocking {
        addTrustedHost()
        val closed = ServerSocket(0).use { it.localPort } // nothing listens there afterwards
        paaf.addHost(
            HostInput(
                name = "down-1",
                address = "127.0.0.1",
                port = closed.toUShort(),
                user = USER,
                auth = AuthInput.Password(SecretInput.Value(PASSWORD)),
            ),
            HostCheck.NoConnect,
        )
        val every = FleetSelector(names = listOf("*"), tags = listOf(), groups = listOf())
        val job = FanOutJob.Command("echo fleet-ok")
        val ask = paaf.fanOutAsk(every, job)
        assertEquals(2u, ask.hostCount)
        assertEquals(listOf(HOST, "down-1"), ask.hosts)

        val seen = Collections.synchronizedList(mutableListOf<FanOutProgress>())
        val listener = object : FanOutListener {
            override fun onProgress(progress: FanOutProgress) {
                seen += progress
            }
        }
        val report = paaf.fanOut(every, job, null, null, Confirmation.Yes, listener).use { it.result() }
        assertEquals(
            listOf("exit 0" to listOf(HOST), "unreachable" to listOf("down-1")),
            report.groups.map { it.label to it.hosts },
        )
        assertEquals("fleet-ok\n", (report.groups[0].outcome as HostOutcome.Ran).v1.stdout)
        assertEquals(listOf(1u, 2u), seen.map { it.tally.done })
        assertEquals(ErrorCode.UNREACHABLE, report.failure)
        assertEquals(report.hosts[0].actionId, paaf.journal(HOST, 50u).first { it.kind == ActionKind.EXEC }.id)
    }

    @Test
    fun runbooksListAndADangerousOneNeedsItsNameTyped() = runBlocking {
        addTrustedHost()
        val books = paaf.runbooks(HOST).associate { it.name to it.dangerous }
        assertEquals(false, books["check-disk"])
        assertEquals(true, books["__wipe-cache"])
        assertEquals(0, paaf.runRunbook(HOST, "check-disk", Confirmation.Yes).exitCode)
        val untyped = thrown<PaafException.Input> { runBlocking { paaf.runRunbook(HOST, "__wipe-cache", Confirmation.Yes) } }
        assertEquals(ErrorCode.CONFIRMATION_REQUIRED, untyped.code)
        assertEquals(0, paaf.runRunbook(HOST, "__wipe-cache", Confirmation.Typed("__wipe-cache")).exitCode)
    }

    @Test
    fun aForgottenKeyIsAskedAgainAndARemovedHostIsJournaledAndGone() = runBlocking {
        addTrustedHost()
        assertTrue(paaf.forgetHostKey(HOST) >= 1u)
        val unknown = thrown<PaafException.Access> { runBlocking { paaf.exec(HOST, "true", Confirmation.Yes) } }
        assertEquals(ErrorCode.HOST_KEY_UNKNOWN, unknown.code)

        paaf.removeHost(HOST)
        assertTrue(paaf.hosts().isEmpty())
        assertEquals(ActionKind.HOST_REMOVE, paaf.journal(null, 1u).single().kind)
        val gone = thrown<PaafException.Input> { paaf.removeHost(HOST) }
        assertEquals(ErrorCode.NOT_FOUND, gone.code)
    }

    @Test
    fun aMissingPasswordSaysToStoreItAndSetSecretStoresItForTheNextCall() = runBlocking {
        addTrustedHost()
        store.values.clear()
        val status = paaf.status(listOf(HOST)).single()
        assertFalse(status.reachable)
        assertEquals(ErrorCode.SECRET, status.error!!.code)
        assertTrue(status.error!!.message, status.error!!.message.contains("set_secret"))

        paaf.setSecret("host-web-1-password", PASSWORD)
        assertEquals(PASSWORD, store.values["host-web-1-password"])
        assertEquals("hi\n", paaf.exec(HOST, "echo hi", Confirmation.Yes).stdout)
    }

    @Test
    fun fleetChoicesListTheConfiguredTagsAndGroups() {
        val key = File(dir, "id_web9").apply { writeText("") }
        val hosts = "$CONFIG\n[[hosts]]\nname = \"web-9\"\naddress = \"127.0.0.1\"\nuser = \"$USER\"\n" +
            "auth = { type = \"key\", path = \"${key.path}\" }\n" +
            "tags = { role = \"web\", env = \"prod\" }\ngroups = [\"shop\"]\n"
        val fleet = Paaf.open(ConfigSource.Text(hosts, File(dir, "fleet.toml").path), store, DEVICE).also { opened += it }
        val choices = fleet.fleetChoices()
        assertEquals(listOf("env=prod", "role=web"), choices.tags.sorted())
        assertEquals(listOf("shop"), choices.groups)
        assertTrue(paaf.fleetChoices().tags.isEmpty())
    }

    @Test
    fun serversWithoutACloudAccountAreAnEmptyCachedListAndAPowerActionFindsNothing() = runBlocking {
        assertNull(paaf.cachedServers())
        val inventory = paaf.servers(null)
        assertTrue(inventory.servers.isEmpty() && inventory.errors.isEmpty())
        assertTrue(paaf.cachedServers()!!.servers.isEmpty())
        val unknown = thrown<PaafException.Input> { runBlocking { paaf.servers("nowhere") } }
        assertEquals(ErrorCode.NOT_FOUND, unknown.code)

        val reads = Collections.synchronizedList(mutableListOf<ServerProgress>())
        val listener = object : ServerPowerListener {
            override fun onProgress(progress: ServerProgress) {
                reads += progress
            }
        }
        val operation = paaf.serverPower(null, "i-0nowhere", PowerAction.REBOOT, Confirmation.Yes, listener)
        val missing = thrown<PaafException.Input> { runBlocking { operation.use { it.result() } } }
        assertEquals(ErrorCode.NOT_FOUND, missing.code)
        assertTrue(reads.isEmpty())
    }
}
