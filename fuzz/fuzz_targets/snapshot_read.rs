//! The live-snapshot reader (`plan --snapshot`): serde on untrusted JSON,
//! then the fingerprint a saved plan is checked with.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(live) = serde_json::from_slice::<mailscope_planner::LiveSnapshot>(data) {
        let _ = mailscope_planner::fingerprint(&live);
    }
});
