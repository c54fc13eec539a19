//! The phone library's final link (mobile/phone-flags.sh sets PAAF_PHONE_LINK): identical code
//! folded (`--icf=all`), no `.eh_frame` left (mobile/no-eh-frame.ld: the precompiled std's and
//! OpenSSL assembly's unwind tables; the `mobile` profile aborts on panic, so nothing unwinds)
//! and tail-merged strings (`-O2`). Given as cdylib link arguments, they reach the library
//! only, never a build script or a proc macro (which rustc unwinds through). ELF and lld only:
//! Linux (tests/bench/mobile.sh, the CI's phone-library tests) and Android; iOS links a static
//! library and keeps its unwind tables. Measured in mobile/README.md, "Measure".

fn main() {
    println!("cargo:rerun-if-env-changed=PAAF_PHONE_LINK");
    println!("cargo:rerun-if-changed=no-eh-frame.ld");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if std::env::var_os("PAAF_PHONE_LINK").is_none() || !matches!(os.as_str(), "linux" | "android")
    {
        return;
    }
    let script = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("no-eh-frame.ld");
    for arg in ["-Wl,--icf=all", "-Wl,-O2"] {
        println!("cargo:rustc-cdylib-link-arg={arg}");
    }
    println!("cargo:rustc-cdylib-link-arg=-Wl,-T,{}", script.display());
}
