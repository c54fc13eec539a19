// The screen models through the Kotlin bindings on the JVM, as a Compose app uses them:
// subscribe a listener, act through the intents, observe the states it receives; against the
// real OpenSSH test host run.sh starts.
package dev.paaf.tests

import dev.paaf.core.ActionKind
import dev.paaf.core.ActionState
import dev.paaf.core.AuthInput
import dev.paaf.core.ErrorCode
import dev.paaf.core.HostCheck
import dev.paaf.core.HostInput
import dev.paaf.core.SecretInput
import dev.paaf.mobile.CommandKind
import dev.paaf.mobile.ConfigSource
import dev.paaf.mobile.ConfigStage
import dev.paaf.mobile.FixListener
import dev.paaf.mobile.FixState
import dev.paaf.mobile.JournalListener
import dev.paaf.mobile.JournalState
import dev.paaf.mobile.MachineAction
import dev.paaf.mobile.MachineKind
import dev.paaf.mobile.OnboardingListener
import dev.paaf.mobile.OnboardingScreen
import dev.paaf.mobile.OnboardingState
import dev.paaf.mobile.Paaf
import java.io.File
import java.util.Base64
import java.util.zip.Deflater
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Rule
import org.junit.Test
import org.junit.rules.Timeout

private fun testEnv(name: String): String =
    System.getenv(name) ?: error("$name is not set: run tests/mobile/kotlin/run.sh")

/** A listener of any screen: the states it receives, in order, for the test to wait on. */
open class Seen<S> {
    private val states = LinkedBlockingQueue<S>()

    fun offer(state: S) {
        states.put(state)
    }

    /** The first state satisfying [wanted] (those before it are passed over). */
    fun until(what: String, wanted: (S) -> Boolean): S {
        var last: S? = null
        val deadline = System.currentTimeMillis() + 60_000
        while (true) {
            val left = deadline - System.currentTimeMillis()
            val state = states.poll(maxOf(left, 0), TimeUnit.MILLISECONDS)
                ?: throw AssertionError("no state with $what; the last one: $last")
            if (wanted(state)) return state
            last = state
        }
    }

    fun isEmpty() = states.isEmpty()

    fun clear() = states.clear()
}

class SeenFix : Seen<FixState>(), FixListener {
    override fun onState(state: FixState) = offer(state)
}

class SeenJournal : Seen<JournalState>(), JournalListener {
    override fun onState(state: JournalState) = offer(state)
}

class SeenOnboarding : Seen<OnboardingState>(), OnboardingListener {
    override fun onState(state: OnboardingState) = offer(state)
}

class ScreensTest {
    @get:Rule val timeout: Timeout = Timeout.seconds(120)

    private val port = testEnv("PAAF_TEST_PORT").toInt()
    private val hostDir = File(testEnv("PAAF_TEST_HOST_DIR"))

    private fun sandbox(name: String) =
        File(testEnv("PAAF_TEST_APPS_DIR"), "screens-$name").apply { mkdirs() }

    @Test
    fun onboardingShowsAnInvalidConfigInsteadOfCrashingAndImportsAPastedOneOrAQrPayload() {
        val config = File(sandbox("onboarding"), "config.toml").apply { writeText("[[hosts]]\nname = 3\n") }
        val screen = OnboardingScreen(config.path, MapStore(), "test-phone")
        val seen = SeenOnboarding()
        screen.subscribe(seen).use {
            val invalid = seen.until("the invalid stage") { it.stage == ConfigStage.INVALID }
            assertEquals(ErrorCode.CONFIG, invalid.error!!.code)
            assertNull(screen.paaf())

            screen.importToml("not [toml")
            val refused = seen.until("the refused import") { it.error?.message?.contains("line") == true }
            assertEquals(ConfigStage.INVALID, refused.stage)
            assertEquals("[[hosts]]\nname = 3\n", config.readText())

            screen.importToml("operator = \"kotlin-tests\"\n")
            val empty = seen.until("the empty stage") { it.stage == ConfigStage.EMPTY }
            assertEquals(0u, empty.hosts)
            assertTrue(screen.paaf()!!.hosts().isEmpty())

            // A QR code's payload: one that is not a paaf config is refused, the file kept.
            screen.importQr("https://example.com/")
            val notConfig = seen.until("the refused payload") { it.error != null }
            assertEquals(ErrorCode.INVALID_INPUT, notConfig.error!!.code)
            assertEquals(ConfigStage.EMPTY, notConfig.stage)

            // The documented format, made here with the JDK: "paaf-config:1:" + base64url (no
            // padding) of the zlib-compressed TOML.
            val toml = "operator = \"kotlin-tests\"\n[[monitoring]]\nname = \"m\"\ntype = \"prometheus\"\nurl = \"http://127.0.0.1:9\"\n"
            val deflater = Deflater().apply { setInput(toml.toByteArray()); finish() }
            val packed = ByteArray(4096).let { it.copyOf(deflater.deflate(it)) }
            screen.importQr("paaf-config:1:" + Base64.getUrlEncoder().withoutPadding().encodeToString(packed))
            val ready = seen.until("the ready stage") { it.stage == ConfigStage.READY }
            assertEquals(1u, ready.monitoring)
            assertNull(ready.error)
            assertEquals(toml, config.readText())
            assertEquals(ConfigStage.READY, screen.state().stage)

            // Edited elsewhere: reload reads the file again.
            config.writeText("[[hosts]]\nname = 3\n")
            screen.reload()
            val edited = seen.until("the edited file") { it.stage == ConfigStage.INVALID }
            assertEquals(ErrorCode.CONFIG, edited.error!!.code)
            assertEquals(ConfigStage.INVALID, screen.state().stage)
        }
    }

    @Test
    fun onboardingAddsAHostOnceItsKeyIsComparedAndKeepsItsPasswordInTheAppStore() {
        waitForTestHost(port, hostDir)
        val config = File(sandbox("add-host"), "config.toml").apply { writeText("operator = \"kotlin-tests\"\n") }
        val store = MapStore()
        val screen = OnboardingScreen(config.path, store, "test-phone")
        val seen = SeenOnboarding()
        // The fingerprint the host's owner reads on the host.
        val keygen = ProcessBuilder("ssh-keygen", "-lf", File(hostDir, "ssh_host_ed25519_key.pub").path).start()
        val served = keygen.inputStream.bufferedReader().readText().split(" ")[1]
        val input = HostInput("web-1", "127.0.0.1", port.toUShort(), "paaf-test",
            AuthInput.Password(SecretInput.Value("paaf-test-password")))
        screen.subscribe(seen).use {
            seen.until("the empty stage") { it.stage == ConfigStage.EMPTY }
            screen.addHost(input)
            val asked = seen.until("the key to compare") { it.hostKey != null }.hostKey!!
            assertEquals(served, asked.key.fingerprint)
            assertTrue(asked.question, asked.question.contains(served))
            screen.dismissHostKey()
            seen.until("the dialog closed") { it.hostKey == null }
            assertTrue(!config.readText().contains("web-1") && store.values.isEmpty())

            screen.addHost(input)
            seen.until("the key to compare") { it.hostKey != null }
            screen.trustHostKey()
            val added = seen.until("the host added") { it.addedHost != null && !it.busy }
            assertNull(added.error)
            assertEquals(ConfigStage.READY to 1u, added.stage to added.hosts)
            assertTrue(config.readText().contains("keyring:host-web-1-password"))
            assertEquals("paaf-test-password", store.values["host-web-1-password"])
        }
        screen.close()
    }

    /** paaf on a new config (`extra` after the operator) with web-1 added and its key trusted. */
    private fun openWithWeb1(name: String, extra: String): Paaf {
        val text = "operator = \"kotlin-tests\"\n$extra"
        val paaf = Paaf.open(ConfigSource.Text(text, File(sandbox(name), "config.toml").path), MapStore(), "test-phone")
        runBlocking {
            val input = HostInput("web-1", "127.0.0.1", port.toUShort(), "paaf-test",
                AuthInput.Password(SecretInput.Value("paaf-test-password")))
            paaf.addHost(input, HostCheck.NoConnect)
            paaf.trustHostKey("web-1", paaf.probeHostKey("web-1").fingerprint)
        }
        return paaf
    }

    @Test
    fun fixRebootsAfterTheConfirmationWithLiveProgressAndTheJournalShowsIt() {
        waitForTestHost(port, hostDir)
        val paaf = openWithWeb1("fix", "[defaults.reboot]\nbackoff_max_secs = 1\n")
        val fix = paaf.fixScreen()
        val seen = SeenFix()
        val subscription = fix.subscribe(seen)
        val listed = seen.until("web-1 up") { s -> s.machines.any { it.up } }
        val web1 = listed.machines.single()
        assertEquals(MachineKind.HOST, web1.kind)
        assertEquals(listOf(MachineAction.REBOOT), web1.actions)
        // Its metrics, read over SSH with the status, worded and levelled by the model.
        assertEquals(listOf("CPU", "load", "memory"), web1.metrics.take(3).map { it.label })
        assertTrue(web1.metrics.toString(), web1.metrics.last().label.startsWith("disk /"))
        assertTrue(web1.metrics.toString(), web1.metrics[0].shown.endsWith(" %"))
        assertEquals(web1.metrics.maxOf { it.level }, web1.level)

        fix.ask("web-1", MachineAction.REBOOT)
        val asked = seen.until("the confirmation") { it.asking != null }.asking!!
        assertTrue(asked.question, asked.question.startsWith("Reboot web-1"))
        val before = File(hostDir, "boot_id").readText().trim()
        fix.confirm()
        seen.until("live progress") { (it.running?.progress?.size ?: 0) >= 2 }
        val run = seen.until("the end") { it.running?.finished == true }.running!!
        assertTrue(run.toString(), run.verified && run.error == null)
        assertNotEquals(before, File(hostDir, "boot_id").readText().trim())
        assertEquals(true, fix.state().running?.verified)

        val journal = paaf.journalScreen()
        val rows = SeenJournal()
        journal.subscribe(rows).use {
            journal.filter("web-1")
            val shown = rows.until("web-1's reboot") { it.target == "web-1" && it.actions.isNotEmpty() }
            assertEquals(ActionKind.REBOOT, shown.actions.first().kind)
            assertEquals(ActionState.SUCCEEDED, shown.actions.first().state)
            assertEquals("web-1", journal.state().target)
        }

        // Closing the subscription (what a ViewModel's onCleared does): no more states.
        subscription.close()
        Thread.sleep(500)
        seen.clear()
        fix.refresh()
        Thread.sleep(2_000)
        assertTrue(seen.isEmpty())
        fix.close()
        journal.close()
        paaf.close()
    }

    @Test
    fun fixRunsADangerousRunbookOnlyWithItsNameTypedAndACommandWithBoundedOutput() {
        waitForTestHost(port, hostDir)
        val paaf = openWithWeb1("fix-runbooks", "[defaults]\nmax_output_bytes = 16\n")
        val fix = paaf.fixScreen()
        val seen = SeenFix()
        fix.subscribe(seen).use {
            assertTrue(seen.until("web-1 up") { s -> s.machines.any { it.up } }.machines.single().runsCommands)
            fix.showRunbooks("web-1")
            val books = seen.until("the runbooks") { it.runbooks != null }.runbooks!!
            assertEquals("__wipe-cache" to true, books.runbooks.first().let { it.name to it.dangerous })
            assertTrue(books.runbooks.any { it.name == "restart-app" && !it.dangerous })

            fix.askRunbook("__wipe-cache")
            val ask = seen.until("the confirmation") { it.commandAsking != null }.commandAsking!!
            assertEquals("__wipe-cache", ask.typedName)
            assertTrue(!ask.ready)
            fix.typeConfirmation("__WIPE-CACHE")
            seen.until("typed") { it.commandAsking?.typed == "__WIPE-CACHE" }
            fix.confirmCommand()
            val refused = seen.until("the refusal") { it.commandRunning?.finished == true }.commandRunning!!
            assertEquals(ErrorCode.CONFIRMATION_REQUIRED, refused.error?.code)
            assertNull(refused.output)

            fix.askRunbook("__wipe-cache")
            seen.until("the confirmation") { it.commandAsking != null }
            fix.typeConfirmation("__wipe-cache")
            seen.until("ready") { it.commandAsking?.ready == true }
            fix.confirmCommand()
            val run = seen.until("the end") { it.commandRunning?.finished == true }.commandRunning!!
            assertTrue(run.toString(), run.succeeded && run.exitCode == 0)
            assertEquals("wiping cache...\n", run.output!!.stdout)
            assertTrue(run.output!!.stdoutTruncated)

            fix.askExec("web-1", "exit 7")
            val exec = seen.until("the exec confirmation") { it.commandAsking != null }.commandAsking!!
            assertEquals(CommandKind.EXEC, exec.kind)
            fix.dismissCommand()
            seen.until("the dialog closed") { it.commandAsking == null }
            fix.askExec("web-1", "exit 7")
            seen.until("the exec confirmation") { it.commandAsking != null }
            fix.confirmCommand()
            val exited = seen.until("the command's end") {
                it.commandRunning?.let { r -> r.finished && r.kind == CommandKind.EXEC } == true
            }.commandRunning!!
            assertEquals(7, exited.exitCode)
            assertTrue(!exited.succeeded)
        }
        fix.close()
        paaf.close()
    }

    @Test
    fun aListenerThatThrowsStopsNeitherTheOtherListenersNorItsOwnNextStates() {
        // A bug in the app's listener (an exception out of onState) is the app's: paaf keeps
        // delivering to it and to the others. Before, uniffi panicked on it ("Callback
        // interface failure"): the screen's delivery thread died, no listener heard anything
        // again, and the phone library (panic = "abort") took the app down with it.
        val dir = sandbox("throwing")
        File(dir, "config.toml").writeText("operator = \"kotlin-tests\"\n")
        val paaf = Paaf.open(ConfigSource.Path(File(dir, "config.toml").path), MapStore(), "test-phone")
        val journal = paaf.journalScreen()
        val thrown = java.util.concurrent.atomic.AtomicInteger()
        val throwing = object : JournalListener {
            override fun onState(state: JournalState) {
                thrown.incrementAndGet()
                throw IllegalStateException("a bug in the app's listener")
            }
        }
        val seen = SeenJournal()
        journal.subscribe(throwing).use {
            journal.subscribe(seen).use {
                seen.until("the state now") { it.target == null }
                journal.filter("web-9")
                assertEquals("web-9", seen.until("the filter") { it.target == "web-9" }.target)
                journal.filter(null)
                seen.until("the filter cleared") { it.target == null }
            }
        }
        // The throwing listener got the state now and each change up to the filter cleared (the
        // refresh after it may come after the unsubscribe): it kept hearing after it threw.
        assertTrue("$thrown", thrown.get() >= 4)
        journal.close()
        paaf.close()
    }
}
