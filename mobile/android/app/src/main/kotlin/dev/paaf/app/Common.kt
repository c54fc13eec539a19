package dev.paaf.app

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.LazyListScope
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.pulltorefresh.PullToRefreshBox
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import dev.paaf.core.ErrorInfo
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.time.format.FormatStyle

/** An enum value as the CLI and the journal spell it: `HOST_KEY_UNKNOWN` → `host-key-unknown`. */
fun Enum<*>.code(): String = name.lowercase().replace('_', '-')

/** An enum value in words: `STANDING_DOWN` → `standing down`. */
fun Enum<*>.words(): String = name.lowercase().replace('_', ' ')

private val shortTime = DateTimeFormatter.ofLocalizedDateTime(FormatStyle.SHORT)
    .withZone(ZoneId.systemDefault())

/** A timestamp in the phone's zone and locale. */
fun Instant.shown(): String = shortTime.format(this)

/** A duration in seconds as `3d 4h 5m`. */
fun ULong.asUptime(): String {
    val s = toLong()
    return "${s / 86_400}d ${s % 86_400 / 3_600}h ${s % 3_600 / 60}m"
}

/**
 * A failed call as paaf reports it: its code (what kind of trouble: `auth-failed`,
 * `host-key-unknown`, ...), the phase that ran out of time, and the reason, which says what to
 * do. The app adds nothing: the advice is paaf's, the same on every front-end.
 */
@Composable
fun ErrorCard(error: ErrorInfo, modifier: Modifier = Modifier) {
    Card(
        modifier.fillMaxWidth(),
        colors = CardDefaults.cardColors(
            containerColor = MaterialTheme.colorScheme.errorContainer,
            contentColor = MaterialTheme.colorScheme.onErrorContainer,
        ),
    ) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Text(
                listOfNotNull(error.code.code(), error.phase?.let { "during ${it.words()}" })
                    .joinToString(" · "),
                style = MaterialTheme.typography.labelLarge,
                fontFamily = FontFamily.Monospace,
            )
            Text(error.message, style = MaterialTheme.typography.bodyMedium)
        }
    }
}

/** A screen's list, pulled down to refresh; the indicator shows while the model is `busy`. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun RefreshableList(busy: Boolean, onRefresh: () -> Unit, content: LazyListScope.() -> Unit) {
    PullToRefreshBox(isRefreshing = busy, onRefresh = onRefresh, modifier = Modifier.fillMaxSize()) {
        LazyColumn(
            Modifier.fillMaxSize().padding(horizontal = 16.dp),
            verticalArrangement = Arrangement.spacedBy(8.dp),
            content = content,
        )
    }
}

/** A section's title in a list. */
@Composable
fun SectionTitle(text: String) {
    Text(
        text,
        style = MaterialTheme.typography.titleSmall,
        color = MaterialTheme.colorScheme.primary,
        modifier = Modifier.padding(top = 8.dp),
    )
}

/** Lines shown as a monospaced block (plan steps, progress). */
@Composable
fun Steps(lines: List<String>) {
    Column(verticalArrangement = Arrangement.spacedBy(2.dp)) {
        lines.forEach {
            Text(it, style = MaterialTheme.typography.bodySmall, fontFamily = FontFamily.Monospace)
        }
    }
}

/**
 * A confirmation a screen model asks for (its `asking`): the model's question, the steps as
 * they will be sent, its warning; yes → `confirm()`, no → `dismiss()`.
 */
@Composable
fun Confirm(
    question: String,
    steps: List<String>,
    warning: String?,
    yes: String,
    onConfirm: () -> Unit,
    onDismiss: () -> Unit,
) {
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(question) },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                warning?.let { Text(it, color = MaterialTheme.colorScheme.error) }
                Steps(steps)
            }
        },
        confirmButton = { Button(onClick = onConfirm) { Text(yes) } },
        dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
    )
}
