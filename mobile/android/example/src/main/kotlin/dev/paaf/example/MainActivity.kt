package dev.paaf.example

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.viewmodel.compose.viewModel
import dev.paaf.core.HostSummary

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent { MaterialTheme { HostsScreen() } }
    }
}

@Composable
fun HostsScreen(model: HostsViewModel = viewModel()) {
    var confirming by remember { mutableStateOf<HostSummary?>(null) }
    Scaffold { padding ->
        Column(Modifier.padding(padding).padding(16.dp), verticalArrangement = Arrangement.spacedBy(12.dp)) {
            model.openError?.let { Text("paaf could not open its config: $it") }
            model.reboot?.let { RebootProgress(it, onCancel = model::cancelReboot) }
            if (model.openError == null && model.hosts.isEmpty()) Text("No hosts in the config yet.")
            LazyColumn(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                items(model.hosts, key = { it.name }) { host ->
                    HostRow(host, rebooting = model.reboot?.running == true, onReboot = { confirming = host })
                }
            }
        }
    }
    confirming?.let { host ->
        // A reboot is destructive: paaf refuses it without an explicit confirmation.
        AlertDialog(
            onDismissRequest = { confirming = null },
            title = { Text("Reboot ${host.name}?") },
            text = { Text("${host.user}@${host.address}:${host.port} will go down and come back with a new boot id.") },
            confirmButton = {
                Button(onClick = { confirming = null; model.reboot(host.name) }) { Text("Reboot") }
            },
            dismissButton = { TextButton(onClick = { confirming = null }) { Text("Cancel") } },
        )
    }
}

@Composable
private fun HostRow(host: HostSummary, rebooting: Boolean, onReboot: () -> Unit) {
    Card(Modifier.fillMaxWidth()) {
        Row(Modifier.padding(12.dp), verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) {
                Text(host.name, style = MaterialTheme.typography.titleMedium)
                Text("${host.user}@${host.address}:${host.port}", style = MaterialTheme.typography.bodySmall)
            }
            Button(onClick = onReboot, enabled = !rebooting) { Text("Reboot") }
        }
    }
}

@Composable
private fun RebootProgress(reboot: RebootUi, onCancel: () -> Unit) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            Text("Reboot of ${reboot.host}", style = MaterialTheme.typography.titleMedium)
            Text(reboot.text)
            if (reboot.running) {
                LinearProgressIndicator(Modifier.fillMaxWidth())
                TextButton(onClick = onCancel) { Text("Stop") }
            }
        }
    }
}
