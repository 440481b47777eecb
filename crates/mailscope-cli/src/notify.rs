//! The JSON-lines event log and the webhook of `mailscope reconcile`.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde_json::{Value, json};

/// Unix time now, in seconds.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

pub(crate) use mailscope_applier::journal::rfc3339_now;

/// One JSON object per line, on stdout or appended to a file.
pub(crate) struct Events {
    out: Box<dyn Write + Send>,
}

impl Events {
    /// `-` is stdout; anything else a file opened for appending.
    pub(crate) fn open(target: &str) -> anyhow::Result<Self> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(std::io::stdout())
        } else {
            let path = Path::new(target);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open the event log {target}"))?,
            )
        };
        Ok(Self { out })
    }

    /// Writes `{"time", "event", …fields}` as one line.
    pub(crate) fn emit(&mut self, event: &str, fields: Value) {
        let mut line = json!({ "time": rfc3339_now(), "event": event });
        if let (Some(obj), Value::Object(extra)) = (line.as_object_mut(), fields) {
            obj.extend(extra);
        }
        let mut text = line.to_string();
        text.push('\n');
        if self.out.write_all(text.as_bytes()).and_then(|()| self.out.flush()).is_err() {
            eprintln!("warning: cannot write the event log");
        }
    }
}

/// Posts JSON payloads to a webhook.
pub(crate) struct Webhook {
    url: String,
    client: reqwest::Client,
}

impl Webhook {
    pub(crate) fn new(url: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            url.starts_with("https://") || url.starts_with("http://"),
            "--notify-url must be an http(s) URL"
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot build the webhook client")?;
        Ok(Self { url: url.to_owned(), client })
    }

    /// Sends the payload; returns a short error text on failure.
    pub(crate) async fn send(&self, payload: &Value) -> Result<(), String> {
        match self.client.post(&self.url).json(payload).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status())),
            Err(e) => Err(e.without_url().to_string()),
        }
    }
}
