package dev.paaf.app

import androidx.compose.foundation.Canvas
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Offset
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.Path
import androidx.compose.ui.graphics.PathEffect
import androidx.compose.ui.graphics.drawscope.Stroke
import androidx.compose.ui.layout.onSizeChanged
import androidx.compose.ui.unit.dp
import dev.paaf.core.ChartSeries
import dev.paaf.core.Thresholds

/** A horizontal line across a chart: a threshold or a quick query's trouble value. */
private data class Level(val value: Double, val color: Color)

/** Grafana's colour: `#rrggbb`, or a name (`green`, `semi-dark-red`) by its hue word. */
private fun grafanaColor(name: String): Color =
    runCatching { Color(android.graphics.Color.parseColor(name)) }.getOrElse {
        listOf(
            "red" to Color(0xFFE02F44), "orange" to Color(0xFFFF780A), "yellow" to Color(0xFFFADE2A),
            "green" to Color(0xFF73BF69), "blue" to Color(0xFF5794F2), "purple" to Color(0xFFB877D9),
        ).firstOrNull { name.contains(it.first) }?.second ?: Color.Gray
    }

private val palette = listOf(
    Color(0xFF7EB26D), Color(0xFFEAB839), Color(0xFF6ED0E0), Color(0xFFEF843C),
    Color(0xFFE24D42), Color(0xFF1F78C1), Color(0xFFBA43A9), Color(0xFF705DA0),
)

/** A series' colour: Grafana's classic palette, by its place in the chart. */
fun seriesColor(index: Int): Color = palette[index % palette.size]

/**
 * Series the core already bucketed per pixel column (`columns` in `0..width`), drawn as they
 * are: each bucket's min..max as a faint bar, its mean as the line (a gap where a bucket is
 * empty), the [thresholds] steps (but the base) in their colours and the [marks] (values
 * that mean trouble) in the error colour as dashed lines. The model prepares the series for
 * the width [ChartWidth] measures; [width] is the one these were prepared for.
 */
@Composable
fun Chart(
    series: List<ChartSeries>,
    width: UInt,
    unit: String?,
    thresholds: Thresholds?,
    marks: List<Double>,
) {
    val steps = thresholds?.steps.orEmpty().mapNotNull { step -> step.value?.let { it to step.color } }
    val fixed = marks.map { Level(it, MaterialTheme.colorScheme.error) } +
        steps.takeUnless { thresholds?.percentage == true }.orEmpty().map { Level(it.first, grafanaColor(it.second)) }
    val values = series.flatMap { it.min + it.max }.filterNotNull() + fixed.map { it.value }
    val lo0 = values.minOrNull() ?: 0.0
    val hi0 = values.maxOrNull() ?: 1.0
    // A flat chart gets some room above and below its one value.
    val (lo, hi) = (hi0 - lo0).let { span -> if (span > 0) lo0 to hi0 else lo0 - 1 to hi0 + 1 }
    // Percentage steps are drawn at their share of the chart's range.
    val levels = fixed + steps.takeIf { thresholds?.percentage == true }.orEmpty()
        .map { Level(lo + it.first / 100 * (hi - lo), grafanaColor(it.second)) }
    Column(verticalArrangement = Arrangement.spacedBy(4.dp)) {
        Text(
            "${hi.shortly()} … ${lo.shortly()}${unit?.let { " $it" } ?: ""}",
            style = MaterialTheme.typography.labelSmall,
        )
        Canvas(Modifier.fillMaxWidth().height(160.dp)) {
            val xScale = size.width / width.toFloat().coerceAtLeast(1f)
            val y = { v: Double -> (size.height * (1 - (v - lo) / (hi - lo))).toFloat() }
            series.forEachIndexed { index, s ->
                val color = seriesColor(index)
                val line = Path()
                var drawing = false
                s.columns.forEachIndexed { i, column ->
                    val x = column.toFloat() * xScale
                    val low = s.min[i]
                    val high = s.max[i]
                    if (low != null && high != null) {
                        drawLine(color.copy(alpha = 0.25f), Offset(x, y(high)), Offset(x, y(low)), strokeWidth = 1f)
                    }
                    val mean = s.mean[i]
                    if (mean == null) {
                        drawing = false
                    } else {
                        if (drawing) line.lineTo(x, y(mean)) else line.moveTo(x, y(mean))
                        drawing = true
                    }
                }
                drawPath(line, color, style = Stroke(width = 2f))
            }
            levels.forEach {
                drawLine(
                    it.color,
                    Offset(0f, y(it.value)),
                    Offset(size.width, y(it.value)),
                    strokeWidth = 2f,
                    pathEffect = PathEffect.dashPathEffect(floatArrayOf(8f, 8f)),
                )
            }
        }
        series.forEachIndexed { index, s ->
            Text(
                "● ${s.name}  last ${s.stats.last.shortly()}  min ${s.stats.min.shortly()}  " +
                    "max ${s.stats.max.shortly()}  mean ${s.stats.mean.shortly()}" +
                    (s.unit ?: unit)?.let { " $it" }.orEmpty(),
                color = seriesColor(index),
                style = MaterialTheme.typography.bodySmall,
            )
        }
    }
}

/**
 * Measures, before any chart is drawn, the pixel width a chart gets in a card of the list
 * (the list's width less the card's padding) and tells the model, which prepares the series
 * for it: one bucket per pixel column.
 */
@Composable
fun ChartWidth(onWidth: (UInt) -> Unit) {
    Spacer(Modifier.fillMaxWidth().padding(horizontal = CARD_PADDING).onSizeChanged { onWidth(it.width.toUInt()) })
}

/** The padding of the cards charts are drawn in. */
val CARD_PADDING = 12.dp

/** A value with 4 significant digits, `–` when there is none. */
fun Double?.shortly(): String = this?.let { "%.4g".format(it) } ?: "–"
