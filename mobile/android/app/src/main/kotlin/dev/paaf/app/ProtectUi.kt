package dev.paaf.app

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Switch
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
import dev.paaf.core.Flag
import dev.paaf.core.FlagChange
import dev.paaf.core.FlagTarget
import dev.paaf.mobile.ProtectScreen
import dev.paaf.mobile.ProtectState

/**
 * Protect: the flags of every flag service, searchable; a switch per environment is the kill
 * switch: it asks the model, which reads the flag now and asks the confirmation naming flag,
 * environment and service; then the change made, with undo.
 */
@Composable
fun ProtectUi(model: Observed<ProtectScreen, ProtectState>) {
    val state: ProtectState by model.state.collectAsStateWithLifecycle()
    val screen: ProtectScreen = model.screen
    // What is typed; the model searches when it is submitted.
    var query by rememberSaveable { mutableStateOf(state.query) }
    RefreshableList(busy = state.busy, onRefresh = screen::refresh) {
        item {
            Row(verticalAlignment = Alignment.CenterVertically) {
                OutlinedTextField(
                    query,
                    { query = it },
                    label = { Text("Search flags") },
                    singleLine = true,
                    modifier = Modifier.weight(1f),
                )
                TextButton(onClick = { screen.search(query) }) { Text("Search") }
            }
        }
        state.error?.let { item { ErrorCard(it) } }
        state.lastChange?.let { item { ChangeCard(it, canUndo = state.canUndo, onUndo = screen::askUndo) } }
        state.services.forEach { service ->
            item { SectionTitle(service.backend) }
            service.error?.let { item { ErrorCard(it) } }
            items(service.flags) { flag ->
                FlagRow(flag, onSwitch = { environment, on ->
                    screen.askSwitch(
                        FlagTarget(
                            backend = flag.backend,
                            project = flag.project,
                            key = flag.key,
                            environment = environment,
                        ),
                        on,
                    )
                })
            }
        }
    }
    state.asking?.let {
        Confirm(
            question = it.question,
            steps = it.steps,
            warning = null,
            yes = "Change",
            onConfirm = screen::confirm,
            onDismiss = screen::dismiss,
        )
    }
}

@Composable
private fun FlagRow(flag: Flag, onSwitch: (String, Boolean) -> Unit) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Text(flag.name ?: flag.key, style = MaterialTheme.typography.titleSmall)
            Text("${flag.project} / ${flag.key}", style = MaterialTheme.typography.bodySmall)
            flag.description?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
            flag.environments.forEach { environment ->
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Text(environment.name, Modifier.weight(1f))
                    // Shows the state read; a tap only asks (nothing changes before the yes).
                    Switch(checked = environment.enabled, onCheckedChange = { onSwitch(environment.name, it) })
                }
            }
        }
    }
}

@Composable
private fun ChangeCard(change: FlagChange, canUndo: Boolean, onUndo: () -> Unit) {
    val word = { on: Boolean -> if (on) "ON" else "OFF" }
    Card(Modifier.fillMaxWidth()) {
        Row(Modifier.padding(12.dp), verticalAlignment = Alignment.CenterVertically) {
            Text(
                "${change.key} in ${change.environment} (${change.backend}): " +
                    "${word(change.wasEnabled)} → ${word(change.enabled)}",
                Modifier.weight(1f),
            )
            TextButton(onClick = onUndo, enabled = canUndo) { Text("Undo") }
        }
    }
}
