package dev.paaf.app

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Card
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.paaf.mobile.FixScreen
import dev.paaf.mobile.FixState
import dev.paaf.mobile.Machine
import dev.paaf.mobile.MachineAction
import dev.paaf.mobile.PowerRun

/**
 * Fix: hosts and cloud servers in one list with their status read now and the actions the
 * model offers for each; an action waits for the confirmation showing the plan, then its
 * live progress with a stop button, then its outcome, verified or not.
 */
@Composable
fun FixUi(model: Observed<FixScreen, FixState>) {
    val state: FixState by model.state.collectAsStateWithLifecycle()
    val screen: FixScreen = model.screen
    RefreshableList(busy = state.busy, onRefresh = screen::refresh) {
        state.error?.let { item { ErrorCard(it) } }
        state.running?.let { item { RunCard(it, onStop = screen::cancel) } }
        items(state.machines) { machine ->
            MachineRow(machine, onAct = { screen.ask(machine.name, it) })
        }
        items(state.unreadable) { Text("Not listed: $it", color = MaterialTheme.colorScheme.error) }
    }
    state.asking?.let {
        Confirm(
            question = it.question,
            steps = it.steps,
            warning = it.warning,
            yes = it.action.words(),
            onConfirm = screen::confirm,
            onDismiss = screen::dismiss,
        )
    }
}

@Composable
private fun MachineRow(machine: Machine, onAct: (MachineAction) -> Unit) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Row(verticalAlignment = Alignment.CenterVertically) {
                Column(Modifier.weight(1f)) {
                    Text(machine.name, style = MaterialTheme.typography.titleMedium)
                    Text(machine.place, style = MaterialTheme.typography.bodySmall)
                }
                Text(
                    listOfNotNull(machine.status, machine.uptimeSecs?.let { "up ${it.asUptime()}" })
                        .joinToString(" · "),
                    // The model says whether it is up; the colour only shows it.
                    color = upColor(machine.up),
                    style = MaterialTheme.typography.labelLarge,
                )
            }
            machine.error?.let { ErrorCard(it) }
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                machine.actions.forEach { action ->
                    OutlinedButton(onClick = { onAct(action) }) { Text(action.words()) }
                }
            }
        }
    }
}

@Composable
private fun upColor(up: Boolean) =
    if (up) MaterialTheme.colorScheme.primary else MaterialTheme.colorScheme.error

@Composable
private fun RunCard(run: PowerRun, onStop: () -> Unit) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
            Text(
                "${run.action.words()} ${run.machine.name}" + (run.actionId?.let { " (action $it)" } ?: ""),
                style = MaterialTheme.typography.titleMedium,
            )
            Steps(run.progress)
            // Shown while the model says it runs: the bar and the stop button.
            if (!run.finished) {
                LinearProgressIndicator(Modifier.fillMaxWidth())
                TextButton(onClick = onStop) { Text("Stop") }
            }
            run.outcome?.let {
                Text(
                    it,
                    color = upColor(run.verified),
                    style = MaterialTheme.typography.bodyMedium,
                )
            }
            run.error?.let { ErrorCard(it) }
        }
    }
}
