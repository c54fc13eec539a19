package dev.paaf.app

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.paaf.core.AnnotationInput
import dev.paaf.mobile.AlertScreen
import dev.paaf.mobile.AlertState
import dev.paaf.mobile.SilenceRow
import java.time.Instant

/** The silence lengths offered, as (label, minutes). */
private val LENGTHS = listOf("30m" to 30, "1h" to 60, "4h" to 240, "1d" to 1_440)

/**
 * Alert: the silences of a source (active, pending, expired, as the model orders them) with
 * expire where the model allows it; a silence asked with its matchers, length and comment (a
 * firing alert's Silence button fills its name in), added once the model's confirmation of
 * what it mutes is accepted; a Grafana annotation written now.
 */
@Composable
fun AlertUi(model: Observed<AlertScreen, AlertState>) {
    val state: AlertState by model.state.collectAsStateWithLifecycle()
    val screen: AlertScreen = model.screen
    // The forms, as typed; nothing reaches the model before Silence / Annotate.
    var matchers by rememberSaveable { mutableStateOf("") }
    var minutes by rememberSaveable { mutableIntStateOf(LENGTHS[1].second) }
    var comment by rememberSaveable { mutableStateOf("") }
    var note by rememberSaveable { mutableStateOf("") }
    var tags by rememberSaveable { mutableStateOf("") }
    var grafana by rememberSaveable { mutableStateOf(state.grafanaSources.firstOrNull()) }
    RefreshableList(busy = state.busy, onRefresh = screen::refresh) {
        item { Choices(state.silenceSources, state.source, screen::useSource) }
        state.error?.let { item { ErrorCard(it) } }
        state.lastSilence?.let { item { Text("Silence $it added", style = MaterialTheme.typography.bodySmall) } }
        state.lastAnnotation?.let { item { Text("Annotation $it written", style = MaterialTheme.typography.bodySmall) } }
        item { SectionTitle("New silence") }
        item {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                OutlinedTextField(
                    matchers,
                    { matchers = it },
                    label = { Text("Matchers, one a line (alertname=X, job=~\"api.*\")") },
                    modifier = Modifier.fillMaxWidth(),
                )
                Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                    LENGTHS.forEach { (label, length) ->
                        FilterChip(selected = minutes == length, onClick = { minutes = length }, label = { Text(label) })
                    }
                }
                OutlinedTextField(comment, { comment = it }, label = { Text("Comment") }, modifier = Modifier.fillMaxWidth())
                Button(onClick = {
                    screen.askSilence(matchers.lines().filter(String::isNotBlank), minutes.toUInt(), comment)
                }) { Text("Silence") }
            }
        }
        item { SectionTitle("Silences") }
        items(state.silences) { SilenceCard(it, onExpire = { screen.expireSilence(it.silence.id) }) }
        state.alerts.forEach { source ->
            item { SectionTitle("Alerts: ${source.source} (${source.kind})") }
            source.error?.let { item { ErrorCard(it) } }
            items(source.alerts) { alert ->
                AlertRow(alert, "Silence", onAction = { matchers = "alertname=${alert.name}" })
            }
        }
        item { SectionTitle("Annotate") }
        item {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                Choices(state.grafanaSources, grafana) { grafana = it }
                OutlinedTextField(note, { note = it }, label = { Text("Text") }, modifier = Modifier.fillMaxWidth())
                OutlinedTextField(tags, { tags = it }, label = { Text("Tags, comma-separated") }, modifier = Modifier.fillMaxWidth())
                Button(onClick = {
                    screen.annotate(
                        grafana,
                        AnnotationInput(
                            text = note,
                            tags = tags.split(',').map(String::trim).filter(String::isNotEmpty),
                            dashboardUid = null,
                            panelId = null,
                        ),
                    )
                }) { Text("Annotate") }
            }
        }
    }
    state.asking?.let {
        Confirm(
            question = it.question,
            steps = it.steps,
            warning = it.warning,
            yes = "Silence",
            onConfirm = screen::confirm,
            onDismiss = screen::dismiss,
        )
    }
}

@Composable
private fun SilenceCard(row: SilenceRow, onExpire: () -> Unit) {
    val silence = row.silence
    Card(Modifier.fillMaxWidth()) {
        Row(Modifier.padding(12.dp), verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f), verticalArrangement = Arrangement.spacedBy(2.dp)) {
                Text(
                    row.matchers.joinToString(", "),
                    fontFamily = FontFamily.Monospace,
                    style = MaterialTheme.typography.bodySmall,
                )
                Text(
                    listOfNotNull(
                        silence.state.words(),
                        silence.endsAtMs?.let { "until ${Instant.ofEpochMilli(it).shown()}" },
                        silence.createdBy,
                    ).joinToString(" · "),
                    style = MaterialTheme.typography.labelLarge,
                )
                Text(silence.comment, style = MaterialTheme.typography.bodySmall)
            }
            TextButton(onClick = onExpire, enabled = row.canExpire) { Text("Expire") }
        }
    }
}
