//! Thinning a series to the points a screen can show, and its min / max / last / mean.
//!
//! The downsampler is LTTB (largest-triangle-three-buckets, Steinarsson 2013) with the extremes
//! pinned: plain LTTB keeps the first and last points but can drop the global minimum or maximum
//! (the single spike an on-call engineer is looking for). So the first point, the last point and
//! the first occurrences of the global maximum and minimum are fixed anchors; the remaining point
//! budget is shared between the stretches between anchors in proportion to their length (largest
//! remainder), and each stretch runs plain LTTB between its two anchors. With `target >= 4` the
//! output therefore always holds the global extremes and exactly `target` points; with
//! `target == 3` it holds the first, the maximum and the last point; with `target == 1` the last
//! point (the latest value). Hand-written: the crates that implement LTTB (`lttb`, `downsample_rs`)
//! take `f64` pairs with no gaps and do not pin the extremes.
//!
//! Gaps: a value that is `None`, NaN or ±infinity cannot be drawn, so it is "undefined". LTTB
//! picks among the defined points of a bucket and averages only defined points. A bucket with no
//! defined point at all (a gap at least one bucket, roughly one pixel, wide) yields its first
//! point, undefined, so the chart still breaks the line there; a gap narrower than a bucket is
//! bridged, as it would not be visible anyway. The global extremes are taken over finite values.
//!
//! For a phone's chart there is also [`chart_series`]: one bucket per pixel column of the time
//! range, each with the min, max, mean and last of its points, so the app draws the envelope
//! (min..max) and a line (mean or last) without ever holding the raw points.

use super::frames::Series;
use serde::Serialize;
use std::collections::BTreeMap;

/// Indices (strictly increasing) of the points to keep from `times_ms`/`values` so that `target`
/// remain (all of them when there are fewer). Extra elements of the longer slice are ignored.
pub fn lttb_indices(times_ms: &[i64], values: &[Option<f64>], target: usize) -> Vec<usize> {
    let n = times_ms.len().min(values.len());
    if target >= n {
        return (0..n).collect();
    }
    if target == 0 {
        return Vec::new();
    }
    if target == 1 {
        return vec![n - 1];
    }
    let points = Points {
        times_ms,
        values,
        t0: times_ms[0],
    };

    let mut anchors = vec![0, n - 1];
    let (imin, imax) = extremes(&values[..n]);
    for extreme in [imax, imin].into_iter().flatten() {
        if anchors.len() < target && !anchors.contains(&extreme) {
            anchors.push(extreme);
        }
    }
    anchors.sort_unstable();

    let gaps: Vec<usize> = anchors.windows(2).map(|w| w[1] - w[0] - 1).collect();
    let shares = share(target - anchors.len(), &gaps);
    let mut out = Vec::with_capacity(target);
    for (w, share) in anchors.windows(2).zip(shares) {
        out.push(w[0]);
        lttb_between(&points, w[0], w[1], share, &mut out);
    }
    out.push(n - 1);
    out
}

/// Thin `series` in place to `target` points (see [`lttb_indices`]). Compute [`stats`] first:
/// they should describe every point, not the ones kept.
pub fn downsample(series: &mut Series, target: usize) {
    let keep = lttb_indices(&series.times_ms, &series.values, target);
    // Indices increase, so each write lands at or before the position it reads from.
    for (k, &i) in keep.iter().enumerate() {
        series.times_ms[k] = series.times_ms[i];
        series.values[k] = series.values[i];
    }
    series.times_ms.truncate(keep.len());
    series.values.truncate(keep.len());
    series.times_ms.shrink_to_fit();
    series.values.shrink_to_fit();
}

/// Summary of a series, over its values that are not `None` or NaN (infinities count).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SeriesStats {
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The latest value that is not `None` or NaN (Grafana's "Last *").
    pub last: Option<f64>,
    pub mean: Option<f64>,
    /// How many values counted.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

/// Min / max / last / mean of `values`, ignoring `None` and NaN.
pub fn stats(values: &[Option<f64>]) -> SeriesStats {
    let mut s = SeriesStats::default();
    let mut sum = 0.0;
    for v in values.iter().flatten().copied().filter(|v| !v.is_nan()) {
        s.min = Some(s.min.map_or(v, |m| m.min(v)));
        s.max = Some(s.max.map_or(v, |m| m.max(v)));
        s.last = Some(v);
        sum += v;
        s.count += 1;
    }
    if s.count > 0 {
        s.mean = Some(sum / s.count as f64);
    }
    s
}

/// A series reduced to one bucket per pixel column of its chart: column `i` covers
/// `[from + i·span/width, from + (i+1)·span/width)`. Columns the series has no point in are
/// left out (the line joins its neighbours: the samples are sparser than the pixels); a column
/// whose points are all null or NaN is kept with null values (the line breaks there).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChartSeries {
    /// The query (`refId`, or the PromQL text) this series answers.
    pub ref_id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// Grafana unit id (`bytes`, `percentunit`, `reqps`, …) of the series or its panel.
    pub unit: Option<String>,
    /// The pixel column of each bucket kept, increasing (`0..width`).
    pub columns: Vec<u32>,
    /// The start of each bucket kept (epoch ms).
    pub times_ms: Vec<i64>,
    pub min: Vec<Option<f64>>,
    pub max: Vec<Option<f64>>,
    pub mean: Vec<Option<f64>>,
    /// The bucket's latest value.
    pub last: Vec<Option<f64>>,
    /// Over every point of the range, not the buckets.
    pub stats: SeriesStats,
}

/// `series` bucketed into `width` pixel columns over `from_ms..to_ms` (see [`ChartSeries`]);
/// points outside the range are not drawn (they still count in `stats`).
pub fn chart_series(series: Series, from_ms: i64, to_ms: i64, width: u32) -> ChartSeries {
    let stats = stats(&series.values);
    let width = width.max(1);
    let span = (i128::from(to_ms) - i128::from(from_ms)).max(1);
    let column = |t: i64| -> Option<u32> {
        let offset = i128::from(t) - i128::from(from_ms);
        // A point exactly at `to` belongs to the last column.
        let c = (offset * i128::from(width) / span).min(i128::from(width) - 1);
        (offset >= 0 && i128::from(t) <= i128::from(to_ms)).then_some(c as u32)
    };
    let start = |c: u32| (i128::from(from_ms) + i128::from(c) * span / i128::from(width)) as i64;
    let mut out = ChartSeries {
        ref_id: series.ref_id,
        name: series.name,
        labels: series.labels,
        unit: series.unit,
        columns: Vec::new(),
        times_ms: Vec::new(),
        min: Vec::new(),
        max: Vec::new(),
        mean: Vec::new(),
        last: Vec::new(),
        stats,
    };
    let n = series.times_ms.len().min(series.values.len());
    let mut open: Option<(u32, Bucket)> = None;
    for i in 0..n {
        let Some(c) = column(series.times_ms[i]) else {
            continue;
        };
        let value = series.values[i].filter(|v| !v.is_nan());
        match &mut open {
            Some((at, bucket)) if *at == c => bucket.add(value),
            _ => {
                if let Some((at, bucket)) = open.take() {
                    out.push(at, start(at), bucket);
                }
                let mut bucket = Bucket::default();
                bucket.add(value);
                open = Some((c, bucket));
            }
        }
    }
    if let Some((at, bucket)) = open {
        out.push(at, start(at), bucket);
    }
    out
}

/// The values of one pixel column seen so far.
#[derive(Default)]
struct Bucket {
    min: Option<f64>,
    max: Option<f64>,
    sum: f64,
    count: u32,
    last: Option<f64>,
}

impl Bucket {
    fn add(&mut self, value: Option<f64>) {
        let Some(v) = value else { return };
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        self.sum += v;
        self.count += 1;
        self.last = Some(v);
    }
}

impl ChartSeries {
    fn push(&mut self, column: u32, time_ms: i64, b: Bucket) {
        self.columns.push(column);
        self.times_ms.push(time_ms);
        self.min.push(b.min);
        self.max.push(b.max);
        self.mean
            .push((b.count > 0).then(|| b.sum / f64::from(b.count)));
        self.last.push(b.last);
    }
}

struct Points<'a> {
    times_ms: &'a [i64],
    values: &'a [Option<f64>],
    /// Times are taken relative to the first one, to keep their precision in `f64`.
    t0: i64,
}

impl Points<'_> {
    fn x(&self, i: usize) -> f64 {
        self.times_ms[i].wrapping_sub(self.t0) as f64
    }

    /// The point at `i`, when its value can be drawn.
    fn get(&self, i: usize) -> Option<(f64, f64)> {
        self.values[i]
            .filter(|v| v.is_finite())
            .map(|y| (self.x(i), y))
    }

    /// Average of the drawable points in `range`.
    fn average(&self, range: std::ops::Range<usize>) -> Option<(f64, f64)> {
        let (mut sx, mut sy, mut count) = (0.0, 0.0, 0usize);
        for i in range {
            if let Some((x, y)) = self.get(i) {
                sx += x;
                sy += y;
                count += 1;
            }
        }
        (count > 0).then(|| (sx / count as f64, sy / count as f64))
    }
}

/// First occurrences of the smallest and the largest finite value.
fn extremes(values: &[Option<f64>]) -> (Option<usize>, Option<usize>) {
    let mut imin: Option<(usize, f64)> = None;
    let mut imax: Option<(usize, f64)> = None;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            continue;
        };
        if imin.is_none_or(|(_, m)| v < m) {
            imin = Some((i, v));
        }
        if imax.is_none_or(|(_, m)| v > m) {
            imax = Some((i, v));
        }
    }
    (imin.map(|p| p.0), imax.map(|p| p.0))
}

/// Split `budget` over `sizes` in proportion (largest remainder); no share exceeds its size as
/// long as `budget <= sizes.sum()`.
fn share(budget: usize, sizes: &[usize]) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    if total == 0 {
        return vec![0; sizes.len()];
    }
    let (budget_w, total_w) = (budget as u128, total as u128);
    let mut shares: Vec<usize> = sizes
        .iter()
        .map(|&s| (budget_w * s as u128 / total_w) as usize)
        .collect();
    let mut by_remainder: Vec<usize> = (0..sizes.len()).collect();
    by_remainder.sort_by_key(|&i| std::cmp::Reverse(budget_w * sizes[i] as u128 % total_w));
    let left = budget - shares.iter().sum::<usize>();
    for &i in by_remainder.iter().take(left) {
        shares[i] += 1;
    }
    shares
}

/// Plain LTTB over the points strictly between anchors `a` and `b` (both already chosen): pick
/// `m` of them, one per bucket, pushing their indices to `out`.
fn lttb_between(p: &Points, a: usize, b: usize, m: usize, out: &mut Vec<usize>) {
    let first = a + 1;
    let k = b - first;
    if m == 0 {
        return;
    }
    if m >= k {
        out.extend(first..b);
        return;
    }
    let bucket = |i: usize| {
        let at = |j: usize| first + (j as u128 * k as u128 / m as u128) as usize;
        at(i)..at(i + 1)
    };
    let mut prev = p.get(a);
    for i in 0..m {
        let range = bucket(i);
        let next = if i + 1 < m {
            p.average(bucket(i + 1))
        } else {
            p.get(b)
        };
        let reference = next.or(prev);
        let mean = p.average(range.clone());
        let mut best: Option<(usize, f64)> = None;
        for j in range.clone() {
            let Some((x, y)) = p.get(j) else { continue };
            let score = match (prev, next) {
                // Twice the triangle's area; the constant factor does not change the choice.
                (Some((ax, ay)), Some((cx, cy))) => {
                    ((ax - cx) * (y - ay) - (ax - x) * (cy - ay)).abs()
                }
                // A gap on one side: the point that strays furthest from the other side.
                _ => match reference.or(mean) {
                    Some((_, ry)) => (y - ry).abs(),
                    None => 0.0,
                },
            };
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((j, score));
            }
        }
        match best {
            Some((j, _)) => {
                out.push(j);
                prev = p.get(j);
            }
            // The whole bucket is a gap: keep its first point so the line breaks there.
            None => out.push(range.start),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn series(values: Vec<Option<f64>>) -> Series {
        Series {
            ref_id: "A".into(),
            name: "s".into(),
            labels: BTreeMap::new(),
            unit: None,
            times_ms: (0..values.len() as i64)
                .map(|i| 1_700_000_000_000 + i * 15_000)
                .collect(),
            values,
        }
    }

    #[test]
    fn chart_buckets_hold_min_max_mean_last_per_pixel_and_keep_gaps() {
        // 15 s samples over 10 min into 4 columns of 150 s: 10 points a column.
        let mut values: Vec<Option<f64>> = (0..40).map(|i| Some(i as f64)).collect();
        values[25] = Some(100.0);
        for v in &mut values[30..40] {
            *v = None;
        }
        let s = series(values);
        let from = s.times_ms[0];
        let c = chart_series(s, from, from + 600_000, 4);
        assert_eq!(c.columns, vec![0, 1, 2, 3]);
        assert_eq!(c.times_ms[1], from + 150_000);
        assert_eq!(
            (c.min[0], c.max[0], c.last[0]),
            (Some(0.0), Some(9.0), Some(9.0))
        );
        assert_eq!(c.mean[0], Some(4.5));
        assert_eq!(c.max[2], Some(100.0), "a spike shows in its column");
        assert_eq!(
            (c.min[3], c.mean[3]),
            (None, None),
            "an all-null column breaks the line"
        );
        assert_eq!((c.stats.max, c.stats.count), (Some(100.0), 30));
    }

    #[test]
    fn chart_leaves_out_empty_columns_and_points_outside_the_range() {
        let s = series(vec![Some(1.0), Some(2.0), Some(3.0)]);
        let from = s.times_ms[0];
        // 3 points, 15 s apart; the range (15 s in 100 columns) starts at the second point,
        // so the first is not drawn, and the last lands in the last column.
        let c = chart_series(s, from + 15_000, from + 30_000, 100);
        assert_eq!(c.columns, vec![0, 99]);
        assert_eq!(c.last, vec![Some(2.0), Some(3.0)]);
        assert_eq!(c.stats.count, 3);
    }

    #[test]
    fn a_lone_spike_survives_heavy_downsampling() {
        let mut values: Vec<Option<f64>> = (0..10_000).map(|i| Some((i % 7) as f64)).collect();
        values[4321] = Some(1e6);
        values[777] = Some(-5.0);
        let s = series(values);
        let keep = lttb_indices(&s.times_ms, &s.values, 10);
        assert_eq!(keep.len(), 10);
        assert!(keep.contains(&4321) && keep.contains(&777), "{keep:?}");
        assert_eq!((keep[0], keep[9]), (0, 9_999));
    }

    #[test]
    fn a_gap_wider_than_a_bucket_stays_a_gap_and_a_narrow_one_is_bridged() {
        let mut values: Vec<Option<f64>> = (0..1000).map(|i| Some((i as f64).sin())).collect();
        for v in &mut values[400..600] {
            *v = None;
        }
        values[100] = Some(f64::NAN);
        let s = series(values);
        let keep = lttb_indices(&s.times_ms, &s.values, 50);
        let gaps: Vec<usize> = keep
            .iter()
            .copied()
            .filter(|&i| s.values[i].is_none())
            .collect();
        assert!(
            !gaps.is_empty() && gaps.iter().all(|i| (400..600).contains(i)),
            "{gaps:?}"
        );
        assert!(!keep.contains(&100));
    }

    #[test]
    fn small_targets_keep_last_then_ends_then_the_maximum() {
        let values = vec![Some(1.0), Some(9.0), Some(0.0), Some(2.0), Some(3.0)];
        let t: Vec<i64> = (0..5).collect();
        assert_eq!(lttb_indices(&t, &values, 0), Vec::<usize>::new());
        assert_eq!(lttb_indices(&t, &values, 1), [4]);
        assert_eq!(lttb_indices(&t, &values, 2), [0, 4]);
        assert_eq!(lttb_indices(&t, &values, 3), [0, 1, 4]);
        assert_eq!(lttb_indices(&t, &values, 4), [0, 1, 2, 4]);
        assert_eq!(lttb_indices(&t, &values, 9), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn mismatched_or_empty_inputs_do_not_panic() {
        assert!(lttb_indices(&[], &[], 10).is_empty());
        assert_eq!(lttb_indices(&[1, 2, 3], &[Some(1.0)], 10), [0]);
        assert_eq!(lttb_indices(&[1, 2, 3, 4, 5], &[None; 5], 3), [0, 1, 4]);
        let all_inf = [Some(f64::INFINITY); 6];
        assert_eq!(lttb_indices(&[0, 1, 2, 3, 4, 5], &all_inf, 4).len(), 4);
    }

    #[test]
    fn downsample_thins_the_series_in_place() {
        let mut s = series((0..1000).map(|i| Some(i as f64)).collect());
        let keep = lttb_indices(&s.times_ms, &s.values, 100);
        let expected: Vec<i64> = keep.iter().map(|&i| s.times_ms[i]).collect();
        downsample(&mut s, 100);
        assert_eq!(s.times_ms, expected);
        assert_eq!(s.values.len(), 100);
        assert_eq!(s.values[99], Some(999.0));
    }

    #[test]
    fn stats_ignore_nulls_and_nan_but_count_infinity() {
        let s = stats(&[None, Some(2.0), Some(f64::NAN), Some(-1.0), Some(5.0), None]);
        assert_eq!(
            s,
            SeriesStats {
                min: Some(-1.0),
                max: Some(5.0),
                last: Some(5.0),
                mean: Some(2.0),
                count: 3
            }
        );
        assert_eq!(stats(&[None, Some(f64::NAN)]), SeriesStats::default());
        assert_eq!(
            stats(&[Some(1.0), Some(f64::INFINITY)]).max,
            Some(f64::INFINITY)
        );
    }

    fn value() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            8 => (-1e9f64..1e9).prop_map(Some),
            1 => Just(None),
            1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)].prop_map(Some),
        ]
    }

    fn input() -> impl Strategy<Value = (Vec<i64>, Vec<Option<f64>>)> {
        prop::collection::vec((1i64..100_000, value()), 0..600).prop_map(|steps| {
            let mut t = -1_000_000;
            steps
                .into_iter()
                .map(|(dt, v)| {
                    t += dt;
                    (t, v)
                })
                .unzip()
        })
    }

    proptest! {
        #[test]
        fn output_length_is_the_target_or_the_input_length((times, values) in input(), target in 0usize..700) {
            let keep = lttb_indices(&times, &values, target);
            prop_assert_eq!(keep.len(), target.min(times.len()));
        }

        #[test]
        fn output_is_an_ordered_subset_with_strictly_increasing_times((times, values) in input(), target in 0usize..700) {
            let keep = lttb_indices(&times, &values, target);
            prop_assert!(keep.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(keep.iter().all(|&i| i < times.len()));
            prop_assert!(keep.windows(2).all(|w| times[w[0]] < times[w[1]]));
        }

        #[test]
        fn first_and_last_points_are_kept((times, values) in input(), target in 2usize..700) {
            prop_assume!(!times.is_empty());
            let keep = lttb_indices(&times, &values, target);
            prop_assert_eq!(keep.first(), Some(&0));
            prop_assert_eq!(keep.last(), Some(&(times.len() - 1)));
        }

        #[test]
        fn global_min_and_max_are_kept((times, values) in input(), target in 4usize..700) {
            let keep = lttb_indices(&times, &values, target);
            let kept: Vec<f64> = keep.iter().filter_map(|&i| values[i]).filter(|v| v.is_finite()).collect();
            let all: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
            if let Some(max) = all.iter().copied().reduce(f64::max) {
                prop_assert!(kept.contains(&max), "max {} lost", max);
            }
            if let Some(min) = all.iter().copied().reduce(f64::min) {
                prop_assert!(kept.contains(&min), "min {} lost", min);
            }
        }

        #[test]
        fn stats_match_a_naive_computation(values in prop::collection::vec(value(), 0..200)) {
            let s = stats(&values);
            let counted: Vec<f64> = values.iter().flatten().copied().filter(|v| !v.is_nan()).collect();
            prop_assert_eq!(s.count, counted.len() as u64);
            prop_assert_eq!(s.last, counted.last().copied());
            prop_assert_eq!(s.max, counted.iter().copied().reduce(f64::max));
            prop_assert_eq!(s.min, counted.iter().copied().reduce(f64::min));
        }
    }
}
