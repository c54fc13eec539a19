//! Decode + downsample a generated 1,000,000-point `/api/ds/query` response (10 series × 100,000
//! points, one frame per series as Grafana's Prometheus data source sends them) to 1,000 points
//! per series, and compare in the same run with parsing the same bytes into `serde_json::Value`.
//!
//! Prints throughput (MB = 10^6 bytes of payload per second) and peak heap, measured by a counting
//! global allocator. Goals (issue 8): >= 300 MB/s end to end, peak memory <= 2x the payload,
//! faster than the Value-only parse.
//!
//! Run: `cargo bench -p paaf-core --bench ds_query_decode` (`-- --quick` for fewer rounds).

use paaf_core::monitor::{decode_ds_query, downsample, stats};
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(by: usize, transient: usize) {
    let live = LIVE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(live + transient, Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size(), 0);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size(), 0);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as a copying realloc: old and new blocks both live for a moment.
        let old = layout.size();
        if new_size >= old {
            grow(new_size - old, old);
        } else {
            PEAK.fetch_max(LIVE.load(Relaxed), Relaxed);
            LIVE.fetch_sub(old - new_size, Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const SERIES: usize = 10;
const POINTS: usize = 100_000;
const TARGET: usize = 1_000;

/// A deterministic ds/query body: 10 frames of `time` + `Value` (float64, nullable, labels),
/// 15 s steps, values a random walk printed at full precision (as Go does), ~0.1 % nulls.
fn payload() -> Vec<u8> {
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut s = String::with_capacity(40 * SERIES * POINTS);
    s.push_str(r#"{"results":{"A":{"status":200,"frames":["#);
    for k in 0..SERIES {
        if k > 0 {
            s.push(',');
        }
        write!(
            s,
            r#"{{"schema":{{"refId":"A","meta":{{"type":"timeseries-multi","typeVersion":[0,1]}},"fields":[{{"name":"Time","type":"time","typeInfo":{{"frame":"time.Time"}},"config":{{"interval":15000}}}},{{"name":"Value","type":"number","typeInfo":{{"frame":"float64","nullable":true}},"labels":{{"__name__":"http_requests_per_second","instance":"web-{k}:9100","job":"api"}},"config":{{"displayNameFromDS":"web-{k}","unit":"reqps"}}}}]}},"data":{{"values":[["#
        )
        .unwrap();
        for i in 0..POINTS {
            if i > 0 {
                s.push(',');
            }
            write!(s, "{}", 1_700_000_000_000_i64 + i as i64 * 15_000).unwrap();
        }
        s.push_str("],[");
        let mut v = 100.0 * (k + 1) as f64;
        for i in 0..POINTS {
            if i > 0 {
                s.push(',');
            }
            let r = next();
            v += ((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 3.0;
            if r % 1000 == 0 {
                s.push_str("null");
            } else {
                write!(s, "{v}").unwrap();
            }
        }
        s.push_str("]]}}");
    }
    s.push_str("]}}}");
    s.into_bytes()
}

struct Run {
    best: Duration,
    peak_above_start: usize,
}

/// Best time and the largest heap growth over `rounds` runs of `f`.
fn measure<T>(rounds: usize, mut f: impl FnMut() -> T) -> Run {
    let mut best = Duration::MAX;
    let mut peak_above_start = 0;
    for _ in 0..rounds {
        let start = LIVE.load(Relaxed);
        PEAK.store(start, Relaxed);
        let t = Instant::now();
        let out = black_box(f());
        best = best.min(t.elapsed());
        drop(out);
        peak_above_start = peak_above_start.max(PEAK.load(Relaxed) - start);
    }
    Run {
        best,
        peak_above_start,
    }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 2 } else { 7 };
    let body = payload();
    let size = body.len();
    println!(
        "payload: {SERIES} series x {POINTS} points = {} points, {:.1} MB",
        SERIES * POINTS,
        mb(size)
    );

    // Check once that the decode does what is measured.
    let decoded = decode_ds_query(&body, usize::MAX).expect("the generated payload decodes");
    assert_eq!(decoded.series.len(), SERIES);
    assert!(decoded.series.iter().all(|s| s.values.len() == POINTS));
    drop(decoded);

    let ours = measure(rounds, || {
        let mut r = decode_ds_query(&body, usize::MAX).expect("decodes");
        let summary: Vec<_> = r.series.iter().map(|s| stats(&s.values)).collect();
        for s in &mut r.series {
            downsample(s, TARGET);
        }
        assert!(r.series.iter().all(|s| s.values.len() == TARGET));
        (r, summary)
    });
    let value = measure(rounds, || {
        serde_json::from_slice::<serde_json::Value>(&body).expect("valid JSON")
    });

    let report = |label: &str, run: &Run| {
        println!(
            "{label:<44} {:>8.1} ms {:>8.1} MB/s   peak heap {:>6.1} MB above the payload ({:.2}x payload; {:.2}x counting the payload)",
            run.best.as_secs_f64() * 1e3,
            mb(size) / run.best.as_secs_f64(),
            mb(run.peak_above_start),
            run.peak_above_start as f64 / size as f64,
            (run.peak_above_start + size) as f64 / size as f64,
        )
    };
    report("decode + stats + LTTB to 1000/series", &ours);
    report("serde_json::Value parse only", &value);
    println!(
        "decode + downsample is {:.2}x the speed of the Value-only parse, with {:.2}x its peak heap",
        value.best.as_secs_f64() / ours.best.as_secs_f64(),
        ours.peak_above_start as f64 / value.peak_above_start as f64,
    );
}
