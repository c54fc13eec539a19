//! Prometheus `/api/v1/query` and `query_range` answers, instant and ranged.
#![no_main]

use paaf_core::monitor::prometheus::decode_query;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for step in [None, Some(15_000)] {
        if let Ok(result) = decode_query(data, "rate(http_requests_total[5m])", step) {
            for s in &result.series {
                assert_eq!(s.times_ms.len(), s.values.len(), "{s:?}");
            }
        }
    }
});
