//! Grafana's time syntax (`now-6h`, `now-1d/d`, epoch ms, RFC 3339) and durations (`30s`,
//! `1h30m`): the input's lines are `from`, `to` and a panel's min interval, resolved at a fixed
//! "now" into a range and the panel's intervals.
#![no_main]

use paaf_core::monitor::dashboard::{builtin_scope, intervals, parse_interval};
use paaf_core::monitor::{Boundary, parse_range, parse_time};

const NOW_MS: i64 = 1_700_000_000_000;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.splitn(3, '\n');
    let from = lines.next().unwrap_or_default();
    let to = lines.next().unwrap_or("now");
    let min_interval = lines.next().and_then(parse_interval);
    let at_from = parse_time(from, NOW_MS, Boundary::From);
    let at_to = parse_time(from, NOW_MS, Boundary::To);
    if let (Ok(a), Ok(b)) = (at_from, at_to) {
        assert!(a <= b, "{from:?}: rounded down {a} > rounded up {b}");
    }
    if let Ok(range) = parse_range(from, to, NOW_MS) {
        assert!(range.from_ms <= range.to_ms);
        let iv = intervals(range, 1000, min_interval, 15_000);
        builtin_scope(range, &iv);
    }
});
