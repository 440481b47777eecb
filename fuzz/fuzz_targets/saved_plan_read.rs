//! The saved-plan reader (`apply PLAN.json`) on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mailscope_planner::SavedPlan::from_json(text, "0.1.0");
    }
});
