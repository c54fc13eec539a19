//! The config file: parsed; when it parses, a host added the way `paaf host add` does it and
//! removed again, each edit keeping every host that was there.
#![no_main]

use paaf_core::config::{Config, NewAuth, NewHost, add_host, remove_host};

#[path = "scratch.rs"]
mod scratch;

fn names(c: &Config) -> Vec<String> {
    c.hosts.iter().map(|h| h.name.clone()).collect()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = scratch::file("config.toml");
    let Ok(before) = Config::parse(&path, text) else {
        return;
    };
    std::fs::write(&path, text).unwrap();
    let host = NewHost {
        name: "fuzz-added".into(),
        address: "192.0.2.10".into(),
        port: 2222,
        user: "ops".into(),
        auth: NewAuth::Agent,
    };
    let Ok(added) = add_host(&path, &host) else {
        return;
    };
    let mut expected = names(&before);
    expected.push(host.name.clone());
    assert_eq!(names(&added), expected, "adding a host to:\n{text}");
    let again = std::fs::read_to_string(&path).unwrap();
    assert_eq!(names(&Config::parse(&path, &again).unwrap()), expected);
    let removed = remove_host(&path, &host.name).unwrap();
    assert_eq!(
        names(&removed),
        names(&before),
        "removing it again from:\n{again}"
    );
});
