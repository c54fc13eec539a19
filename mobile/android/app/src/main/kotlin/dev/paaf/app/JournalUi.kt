package dev.paaf.app

import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.material3.Card
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.paaf.core.ActionRecord
import dev.paaf.mobile.JournalScreen
import dev.paaf.mobile.JournalState

/**
 * Journal: the actions of every front-end sharing this journal, newest first, filtered by
 * target (the model's list of targets); a tap shows a row's detail.
 */
@Composable
fun JournalUi(model: Observed<JournalScreen, JournalState>) {
    val state: JournalState by model.state.collectAsStateWithLifecycle()
    val screen: JournalScreen = model.screen
    var open by rememberSaveable { mutableStateOf<Long?>(null) }
    RefreshableList(busy = false, onRefresh = screen::refresh) {
        item {
            Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                FilterChip(selected = state.target == null, onClick = { screen.filter(null) }, label = { Text("All") })
                state.targets.forEach { target ->
                    FilterChip(
                        selected = state.target == target,
                        onClick = { screen.filter(target) },
                        label = { Text(target) },
                    )
                }
            }
        }
        state.error?.let { item { ErrorCard(it) } }
        items(state.actions, key = { it.id }) { action ->
            ActionRow(action, detail = open == action.id, onTap = { open = action.id.takeUnless { it == open } })
        }
    }
}

@Composable
private fun ActionRow(action: ActionRecord, detail: Boolean, onTap: () -> Unit) {
    Card(Modifier.fillMaxWidth().clickable(onClick = onTap)) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(2.dp)) {
            Text("${action.kind.words()} ${action.target}", style = MaterialTheme.typography.titleSmall)
            Text(
                listOfNotNull(action.state.words(), action.errorCode, action.createdAt.shown()).joinToString(" · "),
                style = MaterialTheme.typography.bodySmall,
            )
            // The detail is open: UI state.
            if (detail) {
                Text(action.detail, fontFamily = FontFamily.Monospace, style = MaterialTheme.typography.bodySmall)
                action.result?.let { Text("Result: $it", style = MaterialTheme.typography.bodySmall) }
                Text(
                    "by ${action.operator} on ${action.frontend} (${action.device}), action ${action.id}" +
                        (action.durationMs?.let { ", $it ms" } ?: ""),
                    style = MaterialTheme.typography.bodySmall,
                )
                action.incidentId?.let { Text("Incident #$it", style = MaterialTheme.typography.bodySmall) }
                action.step?.let { Text("Step $it", style = MaterialTheme.typography.bodySmall) }
            }
        }
    }
}
