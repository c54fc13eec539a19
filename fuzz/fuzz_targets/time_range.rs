//! Grafana's time syntax (`now-6h`, `now-1d/d`, epoch ms, RFC 3339): `from` and `to` are the
//! input's first two lines, resolved at a fixed "now", then turned into a panel's intervals.
#![no_main]

use paaf_core::monitor::dashboard::{builtin_scope, intervals};
use paaf_core::monitor::{Boundary, parse_range, parse_time};

const NOW_MS: i64 = 1_700_000_000_000;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (from, to) = text.split_once('\n').unwrap_or((text, "now"));
    let at_from = parse_time(from, NOW_MS, Boundary::From);
    let at_to = parse_time(from, NOW_MS, Boundary::To);
    if let (Ok(a), Ok(b)) = (at_from, at_to) {
        assert!(a <= b, "{from:?}: rounded down {a} > rounded up {b}");
    }
    if let Ok(range) = parse_range(from, to, NOW_MS) {
        assert!(range.from_ms <= range.to_ms);
        let iv = intervals(range, 1000, None, 15_000);
        builtin_scope(range, &iv);
    }
});
