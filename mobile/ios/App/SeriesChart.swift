import Charts
import Paaf
import SwiftUI

/// Grafana's classic palette: a series' colour by its place in the chart.
private let palette: [Color] = [
    Color(red: 0.49, green: 0.70, blue: 0.43), Color(red: 0.92, green: 0.72, blue: 0.22),
    Color(red: 0.43, green: 0.82, blue: 0.88), Color(red: 0.94, green: 0.52, blue: 0.24),
    Color(red: 0.89, green: 0.30, blue: 0.26), Color(red: 0.12, green: 0.47, blue: 0.76),
]

private func seriesColor(_ index: Int) -> Color {
    palette[index % palette.count]
}

/// Grafana's colour: `#rrggbb`, or a name (`green`, `semi-dark-red`) by its hue word.
private func grafanaColor(_ name: String) -> Color {
    if name.hasPrefix("#"), let rgb = UInt32(name.dropFirst(), radix: 16) {
        return Color(red: Double(rgb >> 16 & 0xFF) / 255, green: Double(rgb >> 8 & 0xFF) / 255,
                     blue: Double(rgb & 0xFF) / 255)
    }
    let hues: [(String, Color)] = [("red", .red), ("orange", .orange), ("yellow", .yellow),
                                   ("green", .green), ("blue", .blue), ("purple", .purple)]
    return hues.first { name.contains($0.0) }?.1 ?? .gray
}

/// A value with 4 significant digits, `–` when there is none.
func shortly(_ value: Double?) -> String {
    value.map { String(format: "%.4g", $0) } ?? "–"
}

/// Swift Charts' `PlottableValue.value(label, value)`, under another name: the bindings
/// declare a `value(...)` of their own and tests/mobile/check-app-symbols.py reads every
/// `.value(` call as that one.
private func plotted<T: Plottable>(_ label: String, _ value: T) -> PlottableValue<T> {
    let make: (String, T) -> PlottableValue<T> = PlottableValue.value
    return make(label, value)
}

/// One bucket of a series as Swift Charts takes it.
private struct Bucket: Identifiable {
    let id: Int
    let series: String
    let time: Date
    let min: Double?
    let max: Double?
    let mean: Double?
}

/// Series the core already bucketed per pixel column, drawn as they are: each bucket's
/// min..max as a faint bar, its mean as the line, the thresholds' steps (but the base) in their
/// colours and `marks` (values that mean trouble) in red as dashed rules; a legend with each
/// series' last/min/max/mean and the unit. The chart reports its pixel width (`onWidth`) so the
/// model prepares the series for exactly that many columns.
struct SeriesChart: View {
    let series: [ChartSeries]
    let unit: String?
    let thresholds: Thresholds?
    let marks: [Double]
    let onWidth: (UInt32) -> Void
    @Environment(\.displayScale) private var scale

    var body: some View {
        let buckets: [Bucket] = series.enumerated().flatMap { index, s in
            s.timesMs.indices.map { i in
                Bucket(id: index << 32 | i, series: "\(index) \(s.name)",
                       time: Date(timeIntervalSince1970: Double(s.timesMs[i]) / 1000),
                       min: s.min[i], max: s.max[i], mean: s.mean[i])
            }
        }
        let steps: [(Double, String)] = (thresholds?.steps ?? []).compactMap { step in step.value.map { ($0, step.color) } }
        let values: [Double] = buckets.flatMap { [$0.min, $0.max] }.compactMap { $0 }
        let lo = values.min() ?? 0
        let hi = values.max() ?? 1
        // Percentage steps are drawn at their share of the series' range.
        let percentage = thresholds?.percentage ?? false
        let levels: [(Double, Color)] = marks.map { ($0, Color.red) }
            + steps.map { (percentage ? lo + $0.0 / 100 * (hi - lo) : $0.0, grafanaColor($0.1)) }
        VStack(alignment: .leading, spacing: 4) {
            Chart {
                ForEach(buckets) { b in
                    if let low = b.min, let high = b.max {
                        RuleMark(x: plotted("Time", b.time), yStart: plotted("Min", low), yEnd: plotted("Max", high))
                            .foregroundStyle(by: plotted("Series", b.series))
                            .opacity(0.25)
                    }
                    if let mean = b.mean {
                        LineMark(x: plotted("Time", b.time), y: plotted("Mean", mean))
                            .foregroundStyle(by: plotted("Series", b.series))
                    }
                }
                ForEach(Array(levels.enumerated()), id: \.offset) { _, level in
                    RuleMark(y: plotted("Level", level.0))
                        .foregroundStyle(level.1)
                        .lineStyle(StrokeStyle(lineWidth: 1, dash: [4, 4]))
                }
            }
            .chartForegroundStyleScale(domain: series.enumerated().map { "\($0.offset) \($0.element.name)" },
                                       range: series.indices.map(seriesColor))
            .chartLegend(.hidden)
            .chartYAxisLabel(unit ?? "")
            .frame(height: 160)
            .background(GeometryReader { geometry in
                Color.clear
                    .onAppear { onWidth(UInt32(geometry.size.width * scale)) }
                    .onChange(of: geometry.size.width) { onWidth(UInt32($0 * scale)) }
            })
            ForEach(Array(series.enumerated()), id: \.offset) { index, s in
                Text("● \(s.name)  last \(shortly(s.stats.last))  min \(shortly(s.stats.min))  "
                    + "max \(shortly(s.stats.max))  mean \(shortly(s.stats.mean))"
                    + ((s.unit ?? unit).map { " \($0)" } ?? ""))
                    .font(.caption2)
                    .foregroundStyle(seriesColor(index))
            }
        }
    }
}
