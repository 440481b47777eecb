//! Wall-clock formatting in the shapes the real services emit.
//!
//! The sim has no date/time dependency: the only things it needs are "now as
//! Unix seconds" and a few fixed ISO-8601 renderings, which the civil-date
//! algorithm below produces exactly (proleptic Gregorian, UTC).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

/// Splits Unix seconds into (year, month, day, hour, minute, second), UTC.
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (year, month as u32, day as u32, (rem / 3600) as u32, ((rem % 3600) / 60) as u32, (rem % 60) as u32)
}

/// `2024-04-10T08:56:22.0000000Z`: the `*UTC` `DateTime` form of EXO output (docs/exchange.md,
/// "Admin API wire format").
pub(crate) fn exo_utc(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.0000000Z")
}

/// `2024-04-10T08:56:22.0000000+00:00`: the local `DateTime` form of EXO output.
pub(crate) fn exo_local(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.0000000+00:00")
}

/// `2024-05-22T16:52:26.365Z`: the `Rate-Limit-Reset` header form.
pub(crate) fn iso_millis(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.000Z")
}

/// `2024-05-22 16:52:26Z`: the `timestamp` of Entra error bodies.
pub(crate) fn entra_timestamp(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
}

/// `2024-05-22T16:52:26Z`: Graph `createdDateTime`.
pub(crate) fn graph_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(exo_utc(0), "1970-01-01T00:00:00.0000000Z");
        // 2024-04-10T08:56:22Z
        assert_eq!(exo_utc(1_712_739_382), "2024-04-10T08:56:22.0000000Z");
        assert_eq!(exo_local(1_712_739_382), "2024-04-10T08:56:22.0000000+00:00");
        // Leap day.
        assert_eq!(graph_time(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(entra_timestamp(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(iso_millis(1_716_396_746), "2024-05-22T16:52:26.000Z");
    }
}
