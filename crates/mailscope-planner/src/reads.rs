//! What must be read from the tenant to plan a desired state.
//!
//! The planner decides only from the [`LiveSnapshot`](crate::LiveSnapshot)
//! it is given, so what goes into that snapshot is a planning rule too:
//! read too little and a plan is made blind to an object it would collide
//! with. The client that does the reading (`mailscope-exo`) takes this list
//! as it is.

use mailscope_spec::{DesiredState, ListKind};

/// The objects a desired state's plan depends on, beyond what the tenant
/// finds by the ownership marker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    /// Client ids of the file's apps: every group their policies point at
    /// is read.
    pub app_ids: Vec<String>,
    /// Groups looked up by name: each list's adopted group, or the name
    /// mailscope derives for it.
    pub group_names: Vec<String>,
    /// Every mailbox address the file names, sorted, once each.
    pub addresses: Vec<String>,
}

/// The reads a desired state needs.
///
/// Each list's group is looked up by name as well as by marker: by its
/// adopted name when the file gives one, else by the derived name. A crash
/// between creating a group and marking it leaves an unmarked group that
/// the marker filter cannot find; reading it by name lets the next plan
/// adopt it (mark it) instead of failing to create it again. Once marked,
/// the marker filter returns it and the name lookup is redundant.
pub fn reads_for(desired: &DesiredState) -> Reads {
    let mut reads = Reads::default();
    for app in &desired.apps {
        reads.app_ids.push(app.app_id.clone());
        for list in [ListKind::Allow, ListKind::Deny] {
            let Some(entries) = app.list(list) else { continue };
            reads.group_names.push(app.adopted_group(list).map_or_else(
                || crate::build::prefixed_group_name(&desired.group_prefix, &app.name, list),
                str::to_owned,
            ));
            reads.addresses.extend(entries.iter().map(|e| e.address.clone()));
        }
    }
    reads.addresses.sort();
    reads.addresses.dedup();
    reads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(apps: &str) -> DesiredState {
        mailscope_spec::parse(&format!("apiVersion: mailscope/v1\napps:\n{apps}"), "t.yaml").unwrap()
    }

    const A: &str = "00000000-0000-4000-8000-00000000000a";
    const B: &str = "00000000-0000-4000-8000-00000000000b";

    #[test]
    fn each_list_is_read_by_its_derived_name_and_its_addresses() {
        let d = desired(&format!(
            "  - name: mailer\n    appId: {A}\n    allow: [b@contoso.com, a@contoso.com]\n    deny: [c@contoso.com]\n"
        ));
        let r = reads_for(&d);
        assert_eq!(r.app_ids, vec![A.to_owned()]);
        assert_eq!(
            r.group_names,
            vec![
                crate::build::derived_group_name("mailer", ListKind::Allow),
                crate::build::derived_group_name("mailer", ListKind::Deny),
            ]
        );
        assert_eq!(r.group_names[0], "mailscope-mailer-allow");
        assert_eq!(r.addresses, vec!["a@contoso.com", "b@contoso.com", "c@contoso.com"]);
    }

    #[test]
    fn an_adopted_group_is_read_by_its_own_name_instead() {
        let d = desired(&format!(
            "  - name: mailer\n    appId: {A}\n    group: Legacy-Mailers\n    allow: [a@contoso.com]\n"
        ));
        assert_eq!(reads_for(&d).group_names, vec!["Legacy-Mailers"]);
    }

    #[test]
    fn a_list_the_app_does_not_have_reads_no_group() {
        let d = desired(&format!("  - name: open\n    appId: {A}\n    deny: [a@contoso.com]\n"));
        assert_eq!(reads_for(&d).group_names, vec!["mailscope-open-deny"]);
    }

    #[test]
    fn addresses_shared_by_apps_are_read_once() {
        let d = desired(&format!(
            "  - name: one\n    appId: {A}\n    allow: [a@contoso.com]\n  - name: two\n    appId: {B}\n    allow: [a@contoso.com]\n"
        ));
        let r = reads_for(&d);
        assert_eq!(r.app_ids, vec![A, B]);
        assert_eq!(r.addresses, vec!["a@contoso.com"]);
        assert_eq!(r.group_names, vec!["mailscope-one-allow", "mailscope-two-allow"]);
    }
}
