package dev.paaf.app

import android.app.Application
import android.content.Context
import android.net.Uri
import android.os.Build
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import com.google.mlkit.vision.barcode.common.Barcode
import com.google.mlkit.vision.codescanner.GmsBarcodeScannerOptions
import com.google.mlkit.vision.codescanner.GmsBarcodeScanning
import dev.paaf.mobile.AlertListener
import dev.paaf.mobile.AlertScreen
import dev.paaf.mobile.AlertState
import dev.paaf.mobile.AnalyzeListener
import dev.paaf.mobile.AnalyzeScreen
import dev.paaf.mobile.AnalyzeState
import dev.paaf.mobile.FixListener
import dev.paaf.mobile.FixScreen
import dev.paaf.mobile.FixState
import dev.paaf.mobile.JournalListener
import dev.paaf.mobile.JournalScreen
import dev.paaf.mobile.JournalState
import dev.paaf.mobile.OnboardingListener
import dev.paaf.mobile.OnboardingScreen
import dev.paaf.mobile.OnboardingState
import dev.paaf.mobile.OverviewListener
import dev.paaf.mobile.OverviewScreen
import dev.paaf.mobile.OverviewState
import dev.paaf.mobile.Paaf
import dev.paaf.mobile.ProtectListener
import dev.paaf.mobile.ProtectScreen
import dev.paaf.mobile.ProtectState
import dev.paaf.mobile.Subscription
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * A screen model of the library and its states as a [StateFlow]: the listener (called on a
 * paaf thread) only stores each state; Compose collects it. Intents go to [screen] directly.
 */
class Observed<Screen : AutoCloseable, S>(
    val screen: Screen,
    initial: S,
    subscribe: (Screen, (S) -> Unit) -> Subscription,
) : AutoCloseable {
    private val states = MutableStateFlow(initial)
    val state: StateFlow<S> = states.asStateFlow()
    private val subscription = subscribe(screen) { states.value = it }

    override fun close() {
        subscription.close()
        screen.close()
    }
}

/** The screens of one opened paaf, each made when first shown and closed with the session. */
class Session(private val paaf: Paaf) : AutoCloseable {
    private val made = mutableListOf<AutoCloseable>()

    private fun <T : AutoCloseable> make(open: () -> T): Lazy<T> = lazy { open().also { made += it } }

    val overview by make {
        val screen: OverviewScreen = paaf.overviewScreen()
        Observed(screen, screen.state()) { s, deliver ->
            s.subscribe(object : OverviewListener {
                override fun onState(state: OverviewState) = deliver(state)
            })
        }
    }
    val protect by make {
        val screen: ProtectScreen = paaf.protectScreen()
        Observed(screen, screen.state()) { s, deliver ->
            s.subscribe(object : ProtectListener {
                override fun onState(state: ProtectState) = deliver(state)
            })
        }
    }
    val analyze by make {
        val screen: AnalyzeScreen = paaf.analyzeScreen()
        Observed(screen, screen.state()) { s, deliver ->
            s.subscribe(object : AnalyzeListener {
                override fun onState(state: AnalyzeState) = deliver(state)
            })
        }
    }
    val alert by make {
        val screen: AlertScreen = paaf.alertScreen()
        Observed(screen, screen.state()) { s, deliver ->
            s.subscribe(object : AlertListener {
                override fun onState(state: AlertState) = deliver(state)
            })
        }
    }
    val fix by make {
        val screen: FixScreen = paaf.fixScreen()
        Observed(screen, screen.state()) { s, deliver ->
            s.subscribe(object : FixListener {
                override fun onState(state: FixState) = deliver(state)
            })
        }
    }
    val journal by make {
        val screen: JournalScreen = paaf.journalScreen()
        Observed(screen, screen.state()) { s, deliver ->
            s.subscribe(object : JournalListener {
                override fun onState(state: JournalState) = deliver(state)
            })
        }
    }

    override fun close() {
        made.forEach { it.close() }
        paaf.close()
    }
}

/**
 * The app's one ViewModel: the Onboarding model (made first: it opens the config, or says
 * why it cannot) and the [Session] of the paaf it opened. It outlives configuration changes,
 * so a rotation neither reopens paaf nor stops a running action.
 */
class PaafViewModel(app: Application) : AndroidViewModel(app) {
    // Config, journal and known_hosts in the app's sandbox; secrets in the Android Keystore.
    private val setup: OnboardingScreen = OnboardingScreen(
        File(app.filesDir, "paaf/config.toml").path,
        KeystoreSecretStore(app),
        Build.MODEL,
    )
    val onboarding = Observed(setup, setup.state()) { s, deliver ->
        s.subscribe(object : OnboardingListener {
            override fun onState(state: OnboardingState) = deliver(state)
        })
    }

    private val sessions = MutableStateFlow(setup.paaf()?.let(::Session))

    /** The screens of the open paaf; null while the config is not open. */
    val session: StateFlow<Session?> = sessions.asStateFlow()

    /** Why the picked file or the QR scan could not be read (it never reached paaf), or null. */
    val readError = MutableStateFlow<String?>(null)

    /** Imports a pasted config (validated by paaf: a refused one changes nothing). */
    fun importToml(toml: String) = reopen { setup.importToml(toml) }

    /** Imports the config file the user picked. */
    fun importFile(uri: Uri) {
        viewModelScope.launch {
            val read = withContext(Dispatchers.IO) {
                runCatching {
                    val input = getApplication<Application>().contentResolver.openInputStream(uri)
                    checkNotNull(input) { "no such file" }.bufferedReader().use { it.readText() }
                }
            }
            readError.value = read.exceptionOrNull()?.let { "could not read the file: ${it.message}" }
            read.onSuccess(::importToml)
        }
    }

    /** Imports a scanned `paaf config qr` code: paaf decodes and validates it, as a paste. */
    fun importQr(payload: String) = reopen { setup.importQr(payload) }

    /**
     * Scans a QR code with Google's code scanner (its own camera screen, from [activity]) and
     * imports what it read, unchanged. A cancelled scan ends the task as cancelled, which
     * neither listener hears: nothing changes.
     */
    fun scanQr(activity: Context) {
        val options = GmsBarcodeScannerOptions.Builder().setBarcodeFormats(Barcode.FORMAT_QR_CODE).build()
        GmsBarcodeScanning.getClient(activity, options).startScan()
            .addOnSuccessListener { code ->
                readError.value = null
                // A code that is not text has no rawValue: paaf refuses the empty payload.
                importQr(code.rawValue.orEmpty())
            }
            .addOnFailureListener { readError.value = "could not scan: ${it.message}" }
    }

    /** Reads the config file again. */
    fun reload() = reopen { setup.reload() }

    // The screens of the paaf opened before are closed: each new one reads its state afresh.
    private fun reopen(change: () -> Unit) {
        viewModelScope.launch {
            withContext(Dispatchers.IO) { change() }
            sessions.value?.close()
            sessions.value = setup.paaf()?.let(::Session)
        }
    }

    override fun onCleared() {
        sessions.value?.close()
        onboarding.close()
    }
}
