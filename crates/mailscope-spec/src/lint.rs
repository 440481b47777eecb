//! Warnings: things a valid file may say on purpose but rarely does.
//!
//! They never stop a plan (the file means something well defined), so they
//! are kept apart from [`crate::SpecError`]; commands print them before the
//! plan.

use crate::error::Problem;
use crate::model::{DesiredState, ListKind};

/// Every warning about a valid desired state, in file order.
///
/// Today: a mailbox both in an app's `allow` and in its `deny` list. Deny
/// beats allow in Exchange, so the app cannot reach it; listing it in
/// `allow` is most likely a mistake in one of the two lists.
pub fn warnings(desired: &DesiredState) -> Vec<Problem> {
    let mut out = Vec::new();
    for app in &desired.apps {
        let (Some(allow), Some(deny)) = (app.list(ListKind::Allow), app.list(ListKind::Deny)) else {
            continue;
        };
        for entry in allow {
            if let Some(denied) = deny.iter().find(|d| d.address == entry.address) {
                out.push(Problem {
                    at: entry.at,
                    message: format!(
                        "{} is in both `allow` and `deny` of app \"{}\" (deny at line {}); deny wins, so the app cannot reach it",
                        entry.address, app.name, denied.at.line
                    ),
                    help: Some("remove it from one of the two lists".to_owned()),
                });
            }
        }
    }
    out.sort_by_key(|p| p.at);
    out
}
