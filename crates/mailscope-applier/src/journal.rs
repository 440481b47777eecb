//! The JSON-lines journal: one object per event, appended and handed to the
//! operating system line by line.
//!
//! Format (every line has `ts`, RFC 3339 UTC with milliseconds, `run_id` and
//! `event`):
//!
//! ```text
//! {"ts":"…","run_id":"…","event":"header","tenant_id":"…","tool":"mailscope","version":"0.1.0","concurrency":4,
//!  "plan":{"steps":12,"apps":3,"add":8,"change":1,"destroy":3,"widening":2}}
//! {"ts":"…","run_id":"…","event":"step","step":0,"app":"crm-sync","app_id":"…","wave":0,
//!  "action":{"kind":"create_group",…},"effect":"neutral","outcome":"started"}
//! {"ts":"…","run_id":"…","event":"step","step":0,…,"outcome":"done","duration_ms":41}
//! {"ts":"…","run_id":"…","event":"step","step":3,…,"outcome":"failed","error":"…","maybe_applied":false,"duration_ms":12}
//! {"ts":"…","run_id":"…","event":"step","step":4,…,"outcome":"skipped"}
//! {"ts":"…","run_id":"…","event":"footer","complete":false,"cancelled":false,"duration_ms":230,
//!  "counts":{"done":3,"already_done":0,"failed":1,"not_started":8}}
//! ```
//!
//! `outcome` is `started`, `done`, `already_done`, `failed` or `skipped`
//! (never started because the run stopped); `duration_ms` is on finished
//! steps only, `error` and `maybe_applied` (the failed call may have taken
//! effect, e.g. a lost reply) on failed ones. `action` is the plan's own
//! [`Action`](mailscope_planner::Action) JSON, which holds names, addresses
//! and ids only; `error` is the scrubbed [`TenantError`](crate::TenantError)
//! text. No credential can therefore reach the journal.
//!
//! Durability: the file is opened in append mode and each line goes out in
//! one `write` call with no user-space buffer, so a crash or kill mid-run
//! leaves every finished line readable (a step with `started` and no later
//! line was in flight). The footer is followed by `fsync`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// Appends journal lines to a file (or any writer).
pub struct JournalWriter {
    sink: Box<dyn Write + Send>,
    file: Option<File>,
    /// Fields the caller adds to the header line (e.g. the tenant id).
    header_fields: Map<String, Value>,
}

impl std::fmt::Debug for JournalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter").field("file", &self.file.is_some()).finish_non_exhaustive()
    }
}

impl JournalWriter {
    /// Opens `path` for appending, creating it (and its parent directory) if
    /// needed. An existing journal is kept: runs follow one another, told
    /// apart by `run_id`.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        // Owner-only on unix: the journal names apps, mailboxes and the
        // tenant, which other local users have no business reading.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        let sink = Box::new(file.try_clone()?);
        Ok(Self { sink, file: Some(file), header_fields: Map::new() })
    }

    /// Writes to any writer (tests, stdout). Each line is still one
    /// `write_all` followed by `flush`.
    pub fn from_writer(writer: impl Write + Send + 'static) -> Self {
        Self { sink: Box::new(writer), file: None, header_fields: Map::new() }
    }

    /// Adds a field to every header line this writer writes: what the
    /// caller knows of the run that the applier does not (the tenant id).
    #[must_use]
    pub fn with_header_field(mut self, key: &str, value: Value) -> Self {
        self.header_fields.insert(key.to_owned(), value);
        self
    }

    /// Appends one event: `ts`, `run_id` and `event` first, then `fields`
    /// (and, on the header, the caller's header fields).
    pub(crate) fn write_event(&mut self, run_id: &str, event: &str, fields: Value) -> io::Result<()> {
        let mut obj = Map::new();
        obj.insert("ts".into(), json!(rfc3339_now()));
        obj.insert("run_id".into(), json!(run_id));
        obj.insert("event".into(), json!(event));
        if event == "header" {
            obj.extend(self.header_fields.clone());
        }
        if let Value::Object(rest) = fields {
            obj.extend(rest);
        }
        let mut line = serde_json::to_vec(&Value::Object(obj)).map_err(io::Error::other)?;
        line.push(b'\n');
        self.sink.write_all(&line)?;
        self.sink.flush()
    }

    /// Flushes to stable storage (after the footer).
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        self.sink.flush()?;
        match &self.file {
            Some(f) => f.sync_all(),
            None => Ok(()),
        }
    }
}

/// The current time as `YYYY-MM-DDTHH:MM:SS.mmmZ` (journal and event-log
/// timestamps).
pub fn rfc3339_now() -> String {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    rfc3339(since.as_secs(), since.subsec_millis())
}

/// Formats Unix seconds and milliseconds as RFC 3339 UTC (civil-from-days,
/// after Howard Hinnant's algorithm; avoids a date crate for one format).
pub(crate) fn rfc3339(secs: u64, millis: u32) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_798_761_599, 999), "2026-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn header_fields_go_on_the_header_only() {
        let path = std::env::temp_dir().join(format!("mailscope-journal-{}/j.jsonl", uuid::Uuid::new_v4()));
        let mut j = JournalWriter::open(&path).unwrap().with_header_field("tenant_id", json!("t-1"));
        j.write_event("a", "header", json!({"x": 1})).unwrap();
        j.write_event("a", "step", json!({"step": 0})).unwrap();
        j.sync().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!((lines[0]["tenant_id"].as_str(), lines[0]["x"].as_i64()), (Some("t-1"), Some(1)));
        assert_eq!(lines[1].get("tenant_id"), None);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_new_journal_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("mailscope-journal-{}/j.jsonl", uuid::Uuid::new_v4()));
        JournalWriter::open(&path).unwrap().write_event("a", "header", json!({})).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "journal mode {mode:o}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn appends_lines_to_a_file() {
        let path = std::env::temp_dir().join(format!("mailscope-journal-{}/j.jsonl", uuid::Uuid::new_v4()));
        for run in ["a", "b"] {
            let mut j = JournalWriter::open(&path).unwrap();
            j.write_event(run, "header", json!({"x": 1})).unwrap();
            j.sync().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["run_id"], "b");
        assert_eq!(lines[0]["x"], 1);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
