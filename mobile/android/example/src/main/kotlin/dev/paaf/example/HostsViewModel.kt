package dev.paaf.example

import android.app.Application
import android.os.Build
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import dev.paaf.core.Confirmation
import dev.paaf.core.HostSummary
import dev.paaf.core.Step
import dev.paaf.mobile.ConfigSource
import dev.paaf.mobile.Paaf
import dev.paaf.mobile.PaafException
import dev.paaf.rebootFlow
import java.io.File
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

/** A reboot on screen: which host, the last step, and whether it still runs. */
data class RebootUi(val host: String, val text: String, val running: Boolean)

class HostsViewModel(app: Application) : AndroidViewModel(app) {
    // The config, the journal and known_hosts live in the app's sandbox; secrets in the keystore.
    // A config paaf refuses (bad TOML, an unknown key) is shown, not thrown: the app stays up.
    private val opened: Result<Paaf> = runCatching {
        Paaf.open(
            ConfigSource.Path(File(app.filesDir, "paaf/config.toml").path),
            KeystoreSecretStore(app),
            Build.MODEL,
        )
    }
    private val paaf: Paaf? = opened.getOrNull()
    private var rebootJob: Job? = null

    /** Why paaf could not open (its code and what to do), or null once it is open. */
    val openError: String? = opened.exceptionOrNull()?.let { e ->
        if (e is PaafException) "${e.code()}: ${e.reason()}" else e.toString()
    }
    val hosts: List<HostSummary> = paaf?.hosts().orEmpty()
    var reboot by mutableStateOf<RebootUi?>(null)
        private set

    /** Starts a verified reboot; the user confirmed it in a dialog. */
    fun reboot(host: String) {
        val paaf = paaf ?: return
        rebootJob?.cancel()
        rebootJob = viewModelScope.launch {
            reboot = RebootUi(host, "starting", running = true)
            reboot = try {
                paaf.rebootFlow(host, Confirmation.Yes).collect {
                    reboot = RebootUi(host, describe(it.step), running = true)
                }
                RebootUi(host, "verified: back with a new boot id", running = false)
            } catch (e: PaafException) {
                RebootUi(host, e.message ?: "failed", running = false)
            }
        }
    }

    /** Cancelling the collecting coroutine closes the operation, which cancels the reboot. */
    fun cancelReboot() {
        rebootJob?.cancel()
        reboot = reboot?.copy(text = "cancelled", running = false)
    }

    override fun onCleared() {
        paaf?.close()
    }
}

private fun PaafException.code() = when (this) {
    is PaafException.Input -> code
    is PaafException.Access -> code
    is PaafException.Connection -> code
    is PaafException.Remote -> code
    is PaafException.Cancelled -> code
    is PaafException.Internal -> code
}

private fun PaafException.reason() = when (this) {
    is PaafException.Input -> reason
    is PaafException.Access -> reason
    is PaafException.Connection -> reason
    is PaafException.Remote -> reason
    is PaafException.Cancelled -> reason
    is PaafException.Internal -> reason
}

private fun describe(step: Step): String = when (step) {
    is Step.Connecting -> "connecting to ${step.host}"
    is Step.BootIdRead -> "boot id ${step.bootId.take(8)}"
    Step.PrivilegeChecked -> "sudo ok"
    is Step.CommandSent -> "sent `${step.command}`"
    Step.ConnectionDropped -> "going down"
    is Step.WaitingForHost -> "waiting for the host (attempt ${step.attempt})"
    Step.BackUp -> "back up"
    is Step.BootIdChanged -> "rebooted: boot id ${step.new.take(8)}"
    is Step.WaitingForTestCommand -> "waiting for the test command (attempt ${step.attempt})"
    is Step.TestCommandOk -> "test command ok"
    Step.Done -> "done"
}
