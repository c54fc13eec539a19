package dev.paaf.app

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
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
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.paaf.core.ActionRecord
import dev.paaf.core.AlertRef
import dev.paaf.core.AlertView
import dev.paaf.core.Incident
import dev.paaf.core.IncidentInput
import dev.paaf.mobile.OverviewScreen
import dev.paaf.mobile.OverviewState

/**
 * Overview: the open incident, the headline and the firing alerts as the core ranks them, the
 * sources it could not read, the actions not finished yet; pull to refresh. An alert opens an
 * incident (title, severity and playbook chosen by the core from the alert).
 */
@Composable
fun OverviewUi(model: Observed<OverviewScreen, OverviewState>) {
    val state: OverviewState by model.state.collectAsStateWithLifecycle()
    val screen: OverviewScreen = model.screen
    RefreshableList(busy = state.busy, onRefresh = screen::refresh) {
        state.error?.let { item { ErrorCard(it) } }
        state.incident?.let { item { IncidentCard(it, onResolve = screen::resolveIncident) } }
        state.overview?.let { overview ->
            item {
                Column {
                    Text(overview.headline, style = MaterialTheme.typography.titleLarge)
                    Text(
                        "${overview.level.words()} · ${overview.firing} firing · ${overview.critical} critical",
                        style = MaterialTheme.typography.bodyMedium,
                    )
                    Text(overview.short, style = MaterialTheme.typography.bodySmall)
                }
            }
            item { SectionTitle("Alerts") }
            items(overview.topAlerts) { alert ->
                AlertRow(alert, "Open incident", onAction = {
                    // Empty title, no severity, no playbook: the core takes them from the alert.
                    screen.openIncident(
                        IncidentInput(
                            title = "",
                            severity = null,
                            alert = AlertRef(source = alert.source, name = alert.name, labels = alert.labels),
                            playbook = null,
                            alongside = false,
                        ),
                    )
                })
            }
            items(overview.unreadable) {
                Text("Not read: $it", color = MaterialTheme.colorScheme.error)
            }
            item { SectionTitle("Unfinished actions") }
            items(overview.running, key = { it.id }) { RunningRow(it) }
        }
    }
}

@Composable
private fun IncidentCard(incident: Incident, onResolve: (String) -> Unit) {
    var resolving by rememberSaveable { mutableStateOf(false) }
    var summary by rememberSaveable { mutableStateOf("") }
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Text("Incident #${incident.id}: ${incident.title}", style = MaterialTheme.typography.titleMedium)
            Text(
                "${incident.severity.words()} · ${incident.phase.words()} · since ${incident.openedAt.shown()} " +
                    "by ${incident.operator} (${incident.device})",
                style = MaterialTheme.typography.bodySmall,
            )
            incident.playbook?.let { Text("Playbook: $it", style = MaterialTheme.typography.bodySmall) }
            TextButton(onClick = { resolving = true }) { Text("Resolve…") }
        }
    }
    // The dialog is open: UI state, not paaf's.
    if (resolving) {
        AlertDialog(
            onDismissRequest = { resolving = false },
            title = { Text("Resolve incident #${incident.id}?") },
            text = {
                OutlinedTextField(summary, { summary = it }, label = { Text("Closing summary") })
            },
            confirmButton = {
                Button(onClick = { resolving = false; onResolve(summary) }) { Text("Resolve") }
            },
            dismissButton = { TextButton(onClick = { resolving = false }) { Text("Cancel") } },
        )
    }
}

/** An alert of a source (name, severity, state, source, summary) with one button, [action]. */
@Composable
fun AlertRow(alert: AlertView, action: String, onAction: () -> Unit) {
    Card(Modifier.fillMaxWidth()) {
        Row(Modifier.padding(12.dp), verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) {
                Text(alert.name, style = MaterialTheme.typography.titleSmall)
                Text(
                    listOfNotNull(alert.severity, alert.state, alert.source).joinToString(" · "),
                    style = MaterialTheme.typography.bodySmall,
                )
                alert.summary?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
            }
            TextButton(onClick = onAction) { Text(action) }
        }
    }
}

@Composable
fun RunningRow(action: ActionRecord) {
    Text(
        "${action.kind.words()} ${action.target} · ${action.state.words()} since ${action.createdAt.shown()}",
        style = MaterialTheme.typography.bodyMedium,
    )
}
