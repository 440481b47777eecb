//! The desired-file parser and validator on arbitrary text: it must return
//! a located error or a state, never panic or hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mailscope_spec::parse(text, "fuzz.yaml");
    }
});
