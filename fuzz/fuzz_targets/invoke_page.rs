//! The `InvokeCommand` success-page parser (envelope, errors, nextLink and
//! the policy, group and recipient objects) on an arbitrary body.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mailscope_exo::fuzz_invoke_page(data);
});
