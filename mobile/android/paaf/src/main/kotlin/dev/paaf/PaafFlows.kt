// Kotlin-idiomatic entry points over the generated bindings (dev.paaf.mobile): a reboot as a
// suspend function or a Flow, tied to the caller's coroutine so that cancelling the coroutine
// (a screen closed, a collector gone) cancels the reboot. Plain JVM Kotlin, no Android classes:
// tests/mobile/kotlin compiles and tests it on the JVM.
package dev.paaf

import dev.paaf.core.Confirmation
import dev.paaf.core.ProgressEvent
import dev.paaf.core.RebootReport
import dev.paaf.mobile.Paaf
import dev.paaf.mobile.ProgressListener
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.channelFlow

/**
 * Runs a verified reboot of host [name] and returns its report once verified; [onProgress] gets
 * every step, on a paaf thread. Cancelling the calling coroutine cancels the reboot (the
 * operation is closed, which cancels it in the library). Throws
 * [dev.paaf.mobile.PaafException] when the reboot fails.
 */
suspend fun Paaf.rebootAndVerify(
    name: String,
    confirmation: Confirmation,
    onProgress: (ProgressEvent) -> Unit = {},
): RebootReport {
    val forward = onProgress // not the listener's own onProgress
    val listener = object : ProgressListener {
        override fun onProgress(event: ProgressEvent) = forward(event)
    }
    return reboot(name, confirmation, listener).use { it.result() }
}

/**
 * The steps of a verified reboot of host [name] as a cold Flow: each collection starts one
 * reboot; the flow completes after `Done` and throws [dev.paaf.mobile.PaafException] when the
 * reboot fails. A collector that stops early (`first()`, a cancelled scope) cancels the reboot.
 */
fun Paaf.rebootFlow(name: String, confirmation: Confirmation): Flow<ProgressEvent> =
    channelFlow {
        // The buffer is unlimited, so trySend never drops an event of the paaf thread.
        rebootAndVerify(name, confirmation) { trySend(it) }
    }.buffer(Channel.UNLIMITED)
