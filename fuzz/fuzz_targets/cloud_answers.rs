//! Every cloud provider on arbitrary API answers: list, read, a power action and its operation
//! followed (the input's format: `paaf_core::fuzzing`).
#![no_main]

#[path = "tls.rs"]
mod tls;

libfuzzer_sys::fuzz_target!(
    init: tls::without_system_roots(),
    |data: &[u8]| {
        paaf_core::fuzzing::decode_cloud_answer(data);
    }
);
