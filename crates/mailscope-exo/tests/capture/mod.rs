//! Captures everything the test binary traces, at TRACE level and for every
//! target (reqwest and hyper included), for the redaction tests.

#![allow(unreachable_pub)]

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The captured output; clones share one buffer.
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// Installs the global subscriber writing here. Once per test binary,
    /// which is why each redaction test is a binary of its own.
    pub fn install() -> Capture {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .try_init()
            .expect("the only subscriber of this binary");
        capture
    }

    /// Everything traced so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
