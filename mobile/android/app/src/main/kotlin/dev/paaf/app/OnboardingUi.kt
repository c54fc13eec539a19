package dev.paaf.app

import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.paaf.mobile.OnboardingState

/**
 * Onboarding and settings: where the config stands (the model's stage: empty, invalid with
 * why, ready with what it holds) and the ways to give paaf a config: paste its TOML or pick a
 * file. paaf validates it first; a refused one is shown with its error and changes nothing.
 */
@Composable
fun OnboardingUi(state: OnboardingState, model: PaafViewModel, onDone: () -> Unit) {
    var toml by rememberSaveable { mutableStateOf("") }
    val fileError by model.fileError.collectAsStateWithLifecycle()
    val pick = rememberLauncherForActivityResult(ActivityResultContracts.OpenDocument()) { uri ->
        uri?.let(model::importFile)
    }
    Column(
        Modifier.fillMaxSize().safeDrawingPadding().padding(16.dp).verticalScroll(rememberScrollState()),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Text("paaf", style = MaterialTheme.typography.headlineMedium)
        Text("Config: ${state.stage.words()}", style = MaterialTheme.typography.titleMedium)
        Text(state.configPath, style = MaterialTheme.typography.bodySmall, fontFamily = FontFamily.Monospace)
        Text(
            "${state.hosts} hosts · ${state.clouds} cloud accounts · " +
                "${state.monitoring} monitoring sources · ${state.flags} flag services",
        )
        state.error?.let { ErrorCard(it) }
        fileError?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        OutlinedTextField(
            value = toml,
            onValueChange = { toml = it },
            label = { Text("Paste a config (TOML)") },
            textStyle = MaterialTheme.typography.bodySmall.copy(fontFamily = FontFamily.Monospace),
            modifier = Modifier.fillMaxWidth().heightIn(min = 160.dp),
        )
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            Button(onClick = { model.importToml(toml) }, enabled = toml.isNotBlank()) { Text("Import") }
            OutlinedButton(onClick = { pick.launch(arrayOf("*/*")) }) { Text("From a file") }
            TextButton(onClick = model::reload) { Text("Reload") }
        }
        TextButton(onClick = onDone) { Text("Done") }
        Text(
            "Secrets the config names (keyring:NAME) are read from this phone's Keystore.",
            style = MaterialTheme.typography.bodySmall,
        )
    }
}
