//! `uniffi-bindgen generate <libpaaf_mobile.so> --language kotlin|swift|python --out-dir DIR`:
//! a separate package so the bindgen's dependencies stay out of the mobile library.

fn main() {
    uniffi::uniffi_bindgen_main()
}
