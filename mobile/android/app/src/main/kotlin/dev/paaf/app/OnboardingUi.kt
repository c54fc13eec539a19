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
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.FilterChip
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.paaf.core.AuthInput
import dev.paaf.core.HostInput
import dev.paaf.core.SecretInput
import dev.paaf.mobile.OnboardingScreen
import dev.paaf.mobile.OnboardingState

/**
 * Onboarding and settings: where the config stands (the model's stage: empty, invalid with
 * why, ready with what it holds) and the ways to give paaf a config: paste its TOML, pick a
 * file or scan the QR code of `paaf config qr`. paaf validates it first; a refused one is
 * shown with its error and changes nothing.
 * Adding a host: the model reads its SSH key and shows the fingerprint to compare; the host is
 * saved only once the user trusts it and the login worked.
 */
@Composable
fun OnboardingUi(state: OnboardingState, model: PaafViewModel, onDone: () -> Unit) {
    val screen: OnboardingScreen = model.onboarding.screen
    var toml by rememberSaveable { mutableStateOf("") }
    val readError by model.readError.collectAsStateWithLifecycle()
    val context = LocalContext.current
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
        readError?.let { Text(it, color = MaterialTheme.colorScheme.error) }
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
        OutlinedButton(onClick = { model.scanQr(context) }) { Text("Scan a QR code") }
        Text(
            "On the computer: paaf config qr | qrencode -t ansiutf8 shows the config as a QR code.",
            style = MaterialTheme.typography.bodySmall,
        )
        SectionTitle("Add a host")
        AddHostForm(busy = state.busy, onAdd = screen::addHost)
        state.addedHost?.let { Text("${it.name} added", style = MaterialTheme.typography.bodySmall) }
        TextButton(onClick = onDone) { Text("Done") }
        Text(
            "Secrets the config names (keyring:NAME) are read from this phone's Keystore.",
            style = MaterialTheme.typography.bodySmall,
        )
    }
    state.hostKey?.let {
        Confirm(
            question = it.question,
            steps = listOf("${it.key.keyType} ${it.key.fingerprint}"),
            warning = null,
            yes = "Trust and add",
            onConfirm = screen::trustHostKey,
            onDismiss = screen::dismissHostKey,
        )
    }
}

/** The new host as typed; the password goes to the Keystore once the host is added. */
@Composable
private fun AddHostForm(busy: Boolean, onAdd: (HostInput) -> Unit) {
    var name by rememberSaveable { mutableStateOf("") }
    var address by rememberSaveable { mutableStateOf("") }
    var port by rememberSaveable { mutableStateOf("22") }
    var user by rememberSaveable { mutableStateOf("") }
    var withKey by rememberSaveable { mutableStateOf(false) }
    var keyPath by rememberSaveable { mutableStateOf("") }
    // Not saveable: a secret stays out of the saved instance state.
    var password by remember { mutableStateOf("") }
    Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
        OutlinedTextField(name, { name = it }, label = { Text("Name (web-1)") }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(address, { address = it }, label = { Text("Address") }, modifier = Modifier.fillMaxWidth())
        OutlinedTextField(
            port,
            { port = it },
            label = { Text("Port") },
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Number),
            modifier = Modifier.fillMaxWidth(),
        )
        OutlinedTextField(user, { user = it }, label = { Text("User") }, modifier = Modifier.fillMaxWidth())
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            FilterChip(selected = !withKey, onClick = { withKey = false }, label = { Text("Password") })
            FilterChip(selected = withKey, onClick = { withKey = true }, label = { Text("Key file") })
        }
        if (withKey) {
            OutlinedTextField(
                keyPath,
                { keyPath = it },
                label = { Text("Private key file (in the app's files)") },
                modifier = Modifier.fillMaxWidth(),
            )
        } else {
            OutlinedTextField(
                password,
                { password = it },
                label = { Text("Password (kept in the Keystore)") },
                visualTransformation = PasswordVisualTransformation(),
                modifier = Modifier.fillMaxWidth(),
            )
        }
        Button(
            enabled = !busy && port.toUShortOrNull() != null,
            onClick = {
                val auth = if (withKey) AuthInput.Key(keyPath, null) else AuthInput.Password(SecretInput.Value(password))
                onAdd(HostInput(name, address, port.toUShort(), user, auth))
            },
        ) { Text("Add") }
    }
}
