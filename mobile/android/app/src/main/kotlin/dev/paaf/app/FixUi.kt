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
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.paaf.core.Level
import dev.paaf.mobile.CommandAsk
import dev.paaf.mobile.CommandRun
import dev.paaf.mobile.FixScreen
import dev.paaf.mobile.FixState
import dev.paaf.mobile.HostRunbooks
import dev.paaf.mobile.Machine
import dev.paaf.mobile.MachineAction
import dev.paaf.mobile.MachineMetric
import dev.paaf.mobile.PowerRun

/**
 * Fix: hosts and cloud servers in one list with their status read now and the actions the
 * model offers for each; an action waits for the confirmation showing the plan, then its
 * live progress with a stop button, then its outcome, verified or not. A host's runbooks and a
 * typed command run behind their own confirmation (a dangerous runbook's name typed there),
 * then show their exit code and bounded output.
 */
@Composable
fun FixUi(model: Observed<FixScreen, FixState>) {
    val state: FixState by model.state.collectAsStateWithLifecycle()
    val screen: FixScreen = model.screen
    RefreshableList(busy = state.busy, onRefresh = screen::refresh) {
        state.error?.let { item { ErrorCard(it) } }
        state.running?.let { item { RunCard(it, onStop = screen::cancel) } }
        state.commandRunning?.let { item { CommandRunCard(it) } }
        state.runbooks?.let { item { RunbooksCard(it, onRun = screen::askRunbook, onExec = screen::askExec) } }
        items(state.machines) { machine ->
            MachineRow(
                machine,
                onAct = { screen.ask(machine.name, it) },
                onCommands = { screen.showRunbooks(machine.name) },
            )
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
    state.commandAsking?.let {
        CommandConfirm(
            it,
            onType = screen::typeConfirmation,
            onConfirm = screen::confirmCommand,
            onDismiss = screen::dismissCommand,
        )
    }
}

@Composable
private fun MachineRow(machine: Machine, onAct: (MachineAction) -> Unit, onCommands: () -> Unit) {
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
            Row(horizontalArrangement = Arrangement.spacedBy(12.dp)) {
                machine.metrics.forEach { MetricCell(it, Modifier.weight(1f)) }
            }
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                machine.actions.forEach { action ->
                    OutlinedButton(onClick = { onAct(action) }) { Text(action.words()) }
                }
                // Offered where the model says runbooks and commands can run.
                if (machine.runsCommands) {
                    OutlinedButton(onClick = onCommands) { Text("runbooks") }
                }
            }
        }
    }
}

/** One metric: its label, its worded value and a bar, coloured by the level the model gives. */
@Composable
private fun MetricCell(metric: MachineMetric, modifier: Modifier) {
    Column(modifier) {
        Text(metric.label, style = MaterialTheme.typography.labelSmall)
        Text(metric.shown, color = levelColor(metric.level), style = MaterialTheme.typography.labelLarge)
        metric.ratio?.let {
            LinearProgressIndicator(progress = { it.toFloat() }, color = levelColor(metric.level))
        }
    }
}

/** The colour of a level the model decided (ok, unknown, warning, danger). */
@Composable
fun levelColor(level: Level) = when (level) {
    Level.OK -> MaterialTheme.colorScheme.primary
    Level.UNKNOWN -> MaterialTheme.colorScheme.outline
    Level.WARNING -> MaterialTheme.colorScheme.tertiary
    Level.DANGER -> MaterialTheme.colorScheme.error
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

/** The runbooks of the host chosen (a dangerous one marked so) and a command to type. */
@Composable
private fun RunbooksCard(books: HostRunbooks, onRun: (String) -> Unit, onExec: (String, String) -> Unit) {
    var command by rememberSaveable(books.host) { mutableStateOf("") }
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
            Text("Runbooks on ${books.host}", style = MaterialTheme.typography.titleMedium)
            books.runbooks.forEach { book ->
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Text(book.name, Modifier.weight(1f), fontFamily = FontFamily.Monospace)
                    // The core marks it dangerous; the label only shows it.
                    if (book.dangerous) {
                        Text("dangerous", color = MaterialTheme.colorScheme.error, style = MaterialTheme.typography.labelMedium)
                    }
                    TextButton(onClick = { onRun(book.name) }) { Text("Run") }
                }
            }
            Row(verticalAlignment = Alignment.CenterVertically) {
                OutlinedTextField(
                    command,
                    { command = it },
                    label = { Text("Command") },
                    singleLine = true,
                    modifier = Modifier.weight(1f),
                )
                TextButton(onClick = { onExec(books.host, command) }) { Text("Run") }
            }
        }
    }
}

/**
 * The confirmation of a runbook or command: the model's question, warning and exact command;
 * a dangerous runbook's name is typed in the field (the model says when it is `ready`).
 */
@Composable
private fun CommandConfirm(ask: CommandAsk, onType: (String) -> Unit, onConfirm: () -> Unit, onDismiss: () -> Unit) {
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(ask.question) },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                ask.warning?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                Steps(ask.steps)
                ask.typedName?.let { name ->
                    OutlinedTextField(ask.typed, onType, label = { Text("Type $name to confirm") }, singleLine = true)
                }
            }
        },
        confirmButton = { Button(onClick = onConfirm, enabled = ask.ready) { Text("Run") } },
        dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
    )
}

/** A runbook or command: its progress, then its outcome, exit code and bounded output. */
@Composable
private fun CommandRunCard(run: CommandRun) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(6.dp)) {
            Text("${run.text} on ${run.host}", style = MaterialTheme.typography.titleMedium)
            Steps(run.progress)
            // Shown while the model says it runs.
            if (!run.finished) {
                LinearProgressIndicator(Modifier.fillMaxWidth())
            }
            run.outcome?.let { Text(it, color = upColor(run.succeeded)) }
            run.output?.let { output ->
                Steps(listOf(output.stdout, output.stderr))
                // The model says the output was cut at the host's limit.
                if (output.stdoutTruncated || output.stderrTruncated) {
                    Text("output cut at the host's max_output_bytes", style = MaterialTheme.typography.bodySmall)
                }
            }
            run.error?.let { ErrorCard(it) }
        }
    }
}
