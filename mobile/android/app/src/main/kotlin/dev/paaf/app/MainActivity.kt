package dev.paaf.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.BackHandler
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Build
import androidx.compose.material.icons.filled.DateRange
import androidx.compose.material.icons.filled.Home
import androidx.compose.material.icons.filled.Lock
import androidx.compose.material.icons.filled.Notifications
import androidx.compose.material.icons.filled.Search
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.NavigationBar
import androidx.compose.material3.NavigationBarItem
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import dev.paaf.mobile.ConfigStage
import dev.paaf.mobile.OnboardingState

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        setContent { PaafTheme { PaafApp() } }
    }
}

/** The bottom navigation, in the order of an incident: the Overview, then the PAAF steps. */
enum class Tab(val title: String, val icon: ImageVector) {
    Overview("Overview", Icons.Filled.Home),
    Protect("Protect", Icons.Filled.Lock),
    Analyze("Analyze", Icons.Filled.Search),
    Alert("Alert", Icons.Filled.Notifications),
    Fix("Fix", Icons.Filled.Build),
    Journal("Journal", Icons.Filled.DateRange),
}

/**
 * The Onboarding screen until the config is open and configures something (its stage,
 * decided by the model), then the tabs; the settings button brings the Onboarding screen back
 * (import another config).
 */
@Composable
fun PaafApp(model: PaafViewModel = viewModel()) {
    val onboarding: OnboardingState by model.onboarding.state.collectAsStateWithLifecycle()
    val session by model.session.collectAsStateWithLifecycle()
    var settings by rememberSaveable { mutableStateOf(false) }
    BackHandler(enabled = settings) { settings = false }
    val tabs: @Composable () -> Unit = {
        session?.let { Tabs(it, onSettings = { settings = true }) }
    }
    val setup: @Composable () -> Unit = {
        OnboardingUi(onboarding, model, onDone = { settings = false })
    }
    when (onboarding.stage) {
        ConfigStage.OPENING -> Box(Modifier.fillMaxSize(), Alignment.Center) { CircularProgressIndicator() }
        ConfigStage.EMPTY, ConfigStage.INVALID -> setup()
        ConfigStage.READY -> (if (settings) setup else tabs)()
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun Tabs(session: Session, onSettings: () -> Unit) {
    var tab by rememberSaveable { mutableStateOf(Tab.Overview) }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(tab.title) },
                actions = {
                    IconButton(onClick = onSettings) { Icon(Icons.Filled.Settings, "Settings") }
                },
            )
        },
        bottomBar = {
            NavigationBar {
                Tab.entries.forEach {
                    NavigationBarItem(
                        selected = it == tab,
                        onClick = { tab = it },
                        icon = { Icon(it.icon, null) },
                        label = { Text(it.title) },
                    )
                }
            }
        },
    ) { padding ->
        Box(Modifier.padding(padding)) {
            when (tab) {
                Tab.Overview -> OverviewUi(session.overview)
                Tab.Protect -> ProtectUi(session.protect)
                Tab.Analyze -> AnalyzeUi(session.analyze)
                Tab.Alert -> AlertUi(session.alert)
                Tab.Fix -> FixUi(session.fix)
                Tab.Journal -> JournalUi(session.journal)
            }
        }
    }
}
