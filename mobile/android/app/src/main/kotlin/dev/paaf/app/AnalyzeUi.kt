package dev.paaf.app

import androidx.activity.compose.BackHandler
import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyListScope
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Star
import androidx.compose.material.icons.outlined.Star
import androidx.compose.material3.Card
import androidx.compose.material3.FilterChip
import androidx.compose.material3.Icon
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
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import dev.paaf.core.DashboardHit
import dev.paaf.core.ResolvedVariable
import dev.paaf.mobile.AnalyzeScreen
import dev.paaf.mobile.AnalyzeState
import dev.paaf.mobile.OpenDashboard
import dev.paaf.mobile.PanelView
import dev.paaf.mobile.QuickQuery
import java.time.Instant

/** Grafana's value for a variable's All option. */
private const val ALL = "\$__all"

/**
 * Analyze: the dashboards of a Grafana (search, starred only), and the one opened with its
 * panels drawn from the series the core prepared for this screen's pixel width, the time range
 * and the variables to pick; PromQL quick queries (the playbooks') or one typed, drawn the same
 * way.
 */
@Composable
fun AnalyzeUi(model: Observed<AnalyzeScreen, AnalyzeState>) {
    val state: AnalyzeState by model.state.collectAsStateWithLifecycle()
    val screen: AnalyzeScreen = model.screen
    // What is typed; the model searches (or runs it) when it is submitted.
    var search by rememberSaveable { mutableStateOf(state.search) }
    var expr by rememberSaveable { mutableStateOf("") }
    // The quick query tapped last: its trouble values are drawn over its chart.
    var picked by remember { mutableStateOf<QuickQuery?>(null) }
    val open: OpenDashboard? = state.dashboard
    BackHandler(enabled = open != null, onBack = screen::closeDashboard)
    RefreshableList(busy = state.busy, onRefresh = screen::refresh) {
        item { ChartWidth(onWidth = screen::setWidth) }
        item { Choices(state.grafanaSources, state.grafana, screen::useGrafana) }
        state.error?.let { item { ErrorCard(it) } }
        when (open) {
            null -> {
                item {
                    Row(verticalAlignment = Alignment.CenterVertically) {
                        OutlinedTextField(
                            search,
                            { search = it },
                            label = { Text("Search dashboards") },
                            singleLine = true,
                            modifier = Modifier.weight(1f),
                        )
                        TextButton(onClick = { screen.search(search) }) { Text("Search") }
                    }
                }
                item {
                    FilterChip(
                        selected = state.starredOnly,
                        onClick = { screen.showStarred(!state.starredOnly) },
                        label = { Text("Starred") },
                        leadingIcon = { Icon(Icons.Filled.Star, null) },
                    )
                }
                items(state.dashboards) { DashboardRow(it, onOpen = { screen.openDashboard(it.uid) }) }
                item { SectionTitle("Quick queries") }
                items(state.quickQueries) { quick ->
                    OutlinedButton(onClick = {
                        picked = quick
                        screen.runQuery(quick.source, quick.expr)
                    }) {
                        val trouble = listOfNotNull(
                            quick.above?.let { " > ${it.shortly()}" },
                            quick.below?.let { " < ${it.shortly()}" },
                        )
                        Text(quick.label + trouble.joinToString(""), fontFamily = FontFamily.Monospace)
                    }
                }
                item {
                    Row(verticalAlignment = Alignment.CenterVertically) {
                        OutlinedTextField(
                            expr,
                            { expr = it },
                            label = { Text("PromQL") },
                            singleLine = true,
                            modifier = Modifier.weight(1f),
                        )
                        TextButton(onClick = {
                            picked = null
                            screen.runQuery(null, expr)
                        }) { Text("Run") }
                    }
                }
                state.query?.let { chart ->
                    item {
                        Card(Modifier.fillMaxWidth()) {
                            Column(Modifier.padding(CARD_PADDING), verticalArrangement = Arrangement.spacedBy(4.dp)) {
                                Text(chart.expr, fontFamily = FontFamily.Monospace, style = MaterialTheme.typography.bodySmall)
                                chart.warnings.forEach { Text(it, color = MaterialTheme.colorScheme.error) }
                                Chart(
                                    chart.series,
                                    chart.width,
                                    unit = null,
                                    thresholds = null,
                                    marks = listOfNotNull(picked?.above, picked?.below),
                                )
                            }
                        }
                    }
                }
            }
            else -> dashboardItems(open, state, screen)
        }
    }
}

/** The open dashboard: back, the range and variable pickers, then each panel's chart. */
private fun LazyListScope.dashboardItems(open: OpenDashboard, state: AnalyzeState, screen: AnalyzeScreen) {
    item {
        Row(verticalAlignment = Alignment.CenterVertically) {
            Text(open.title, style = MaterialTheme.typography.titleMedium, modifier = Modifier.weight(1f))
            TextButton(onClick = screen::closeDashboard) { Text("Dashboards") }
        }
    }
    item {
        Text(
            "${Instant.ofEpochMilli(open.fromMs).shown()} – ${Instant.ofEpochMilli(open.toMs).shown()}",
            style = MaterialTheme.typography.bodySmall,
        )
    }
    item {
        Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            FilterChip(
                selected = state.view.window == null,
                onClick = { screen.setWindow(null) },
                label = { Text("Dashboard's range") },
            )
            state.ranges.forEach { range ->
                FilterChip(
                    selected = state.view.window == range.window,
                    onClick = { screen.setWindow(range.window) },
                    label = { Text(range.label) },
                )
            }
        }
    }
    items(open.variables) { VariablePicker(it, onPick = { values -> screen.setVariable(it.name, values) }) }
    items(open.panels) { PanelCard(it) }
}

@Composable
private fun DashboardRow(hit: DashboardHit, onOpen: () -> Unit) {
    Card(Modifier.fillMaxWidth().clickable(onClick = onOpen)) {
        Row(Modifier.padding(12.dp), verticalAlignment = Alignment.CenterVertically) {
            Column(Modifier.weight(1f)) {
                Text(hit.title, style = MaterialTheme.typography.titleSmall)
                Text(
                    listOfNotNull(hit.folderTitle, hit.tags.joinToString(" ").ifEmpty { null }).joinToString(" · "),
                    style = MaterialTheme.typography.bodySmall,
                )
            }
            Icon(if (hit.starred) Icons.Filled.Star else Icons.Outlined.Star, if (hit.starred) "Starred" else null)
        }
    }
}

/** A variable's options as chips (All first when it offers one); a tap picks that value. */
@Composable
private fun VariablePicker(variable: ResolvedVariable, onPick: (List<String>) -> Unit) {
    Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
        Text(variable.label ?: variable.name, style = MaterialTheme.typography.labelLarge)
        Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            if (variable.includeAll) {
                FilterChip(selected = variable.isAll, onClick = { onPick(listOf(ALL)) }, label = { Text("All") })
            }
            variable.options.forEach { option ->
                FilterChip(
                    selected = !variable.isAll && option in variable.values,
                    onClick = { onPick(listOf(option)) },
                    label = { Text(option) },
                )
            }
        }
        variable.warning?.let { Text(it, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.error) }
    }
}

@Composable
private fun PanelCard(panel: PanelView) {
    Card(Modifier.fillMaxWidth()) {
        Column(Modifier.padding(CARD_PADDING), verticalArrangement = Arrangement.spacedBy(4.dp)) {
            Text(panel.title, style = MaterialTheme.typography.titleSmall)
            Text(listOfNotNull(panel.row, panel.kind).joinToString(" · "), style = MaterialTheme.typography.bodySmall)
            panel.error?.let { ErrorCard(it) }
            panel.chart?.let { chart ->
                chart.errors.forEach {
                    Text(
                        listOfNotNull(it.refId, it.status?.toString(), it.message).joinToString(" · "),
                        color = MaterialTheme.colorScheme.error,
                        style = MaterialTheme.typography.bodySmall,
                    )
                }
                Chart(chart.series, chart.width, chart.unit, chart.thresholds, marks = emptyList())
            }
        }
    }
}

/** The configured sources as chips when there is a choice; a tap shows that one. */
@Composable
fun Choices(sources: List<String>, shown: String?, onPick: (String) -> Unit) {
    Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(8.dp)) {
        sources.forEach { FilterChip(selected = it == shown, onClick = { onPick(it) }, label = { Text(it) }) }
    }
}
