//! Every flag service on arbitrary API answers: list, state, and a change (the input's format:
//! `paaf_core::fuzzing`).
#![no_main]

#[path = "tls.rs"]
mod tls;

libfuzzer_sys::fuzz_target!(
    init: tls::without_system_roots(),
    |data: &[u8]| {
        paaf_core::fuzzing::decode_flag_answer(data);
    }
);
