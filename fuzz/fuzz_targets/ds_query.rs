//! Grafana `/api/ds/query` answers: decoded into series, then what a panel does with them
//! (stats, thinning to the screen's width).
#![no_main]

use paaf_core::monitor::{decode_ds_query, downsample, stats};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(decoded) = decode_ds_query(data, 1 << 20) else {
        return;
    };
    for mut series in decoded.series {
        assert_eq!(series.times_ms.len(), series.values.len(), "{series:?}");
        let all = stats(&series.values);
        let before = series.values.len();
        downsample(&mut series, 16);
        assert!(series.values.len() <= before.max(16));
        assert_eq!(series.times_ms.len(), series.values.len());
        let kept = stats(&series.values);
        assert!(kept.count <= all.count);
    }
});
