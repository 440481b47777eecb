//! Pass 0: entries written with a secondary (proxy) address are planned
//! against the recipient's primary address.
//!
//! Exchange finds a recipient by any of its SMTP addresses (a filter on
//! `PrimarySmtpAddress` also searches `EmailAddresses`; docs/exchange.md,
//! "Proxy addresses"), but lists group members by their primary address.
//! Planning a secondary address as written would add the member under the
//! secondary, read it back under the primary and plan the same change again
//! forever. So every entry whose address the snapshot knows as a proxy of a
//! recipient is rewritten to that recipient's primary, and the plan says so.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use mailscope_spec::{DesiredState, ListKind};

use crate::live::LiveSnapshot;
use crate::plan::Finding;
use crate::world::key;

/// The finding code of an entry planned against another (primary) address.
pub(crate) const PROXY_FINDING: &str = "proxy-address";

/// `desired` with every secondary address replaced by its recipient's
/// primary (an entry that then repeats one of its list is dropped), and one
/// `proxy-address` finding per rewritten entry. Borrowed when nothing
/// changes. `plan()` does this first; anything else that compares the
/// file's addresses with the tenant's (what `verify` expects) must too.
pub fn primary_addresses<'a>(
    desired: &'a DesiredState,
    live: &LiveSnapshot,
) -> (Cow<'a, DesiredState>, Vec<Finding>) {
    let primaries: BTreeSet<String> = live.recipients.iter().map(|r| key(&r.address)).collect();
    // A secondary that is also some recipient's primary is that recipient's
    // (Exchange refuses such a pair; a snapshot could still hold one).
    let mut to_primary: BTreeMap<String, String> = BTreeMap::new();
    for r in &live.recipients {
        for p in &r.proxy_addresses {
            let p = key(p.strip_prefix("smtp:").or_else(|| p.strip_prefix("SMTP:")).unwrap_or(p));
            if !p.is_empty() && !primaries.contains(&p) {
                to_primary.entry(p).or_insert_with(|| key(&r.address));
            }
        }
    }
    let named = desired
        .apps
        .iter()
        .flat_map(|a| [ListKind::Allow, ListKind::Deny].map(|l| a.list(l).unwrap_or_default()))
        .flatten()
        .any(|e| to_primary.contains_key(&e.address));
    if !named {
        return (Cow::Borrowed(desired), Vec::new());
    }

    let mut out = desired.clone();
    let mut findings = Vec::new();
    for app in &mut out.apps {
        let app_name = app.name.clone();
        for list in [ListKind::Allow, ListKind::Deny] {
            let entries = match list {
                ListKind::Allow => app.allow.as_mut(),
                ListKind::Deny => app.deny.as_mut(),
            };
            let Some(entries) = entries else { continue };
            let written: BTreeSet<String> = entries.iter().map(|e| e.address.clone()).collect();
            let mut seen = BTreeSet::new();
            entries.retain_mut(|e| {
                let Some(primary) = to_primary.get(&e.address) else {
                    return seen.insert(e.address.clone());
                };
                let at = if e.at.line > 0 { format!("{}:{}: ", desired.origin, e.at) } else { String::new() };
                let kept = !written.contains(primary) && seen.insert(primary.clone());
                findings.push(Finding {
                    code: PROXY_FINDING.into(),
                    app: Some(app_name.clone()),
                    message: format!(
                        "{at}{} in `{list}` of app \"{app_name}\" is a secondary address of the mailbox {primary}; {}; write the primary address to silence this",
                        e.address,
                        if kept {
                            format!("planned as {primary}")
                        } else {
                            format!("{primary} is already in the list, so the entry adds nothing")
                        }
                    ),
                });
                e.address.clone_from(primary);
                kept
            });
        }
    }
    (Cow::Owned(out), findings)
}

#[cfg(test)]
mod tests {
    use mailscope_spec::{Entry, Position};

    use super::*;
    use crate::live::Recipient;

    fn recipient(address: &str, proxies: &[&str]) -> Recipient {
        Recipient {
            address: address.to_owned(),
            kind: "SharedMailbox".into(),
            id: None,
            proxy_addresses: proxies.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn desired(allow: &[&str], deny: Option<&[&str]>) -> DesiredState {
        let entries = |list: &[&str], first_line: u64| {
            list.iter()
                .zip(first_line..)
                .map(|(a, line)| Entry { at: Position { line, column: 9 }, address: (*a).to_owned() })
                .collect::<Vec<_>>()
        };
        let text = "apiVersion: mailscope/v1\napps:\n  - name: mailer\n    appId: 3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60\n    allow: [x@contoso.com]\n";
        let mut d = mailscope_spec::parse(text, "policies.yaml").unwrap();
        d.apps[0].allow = Some(entries(allow, 10));
        d.apps[0].deny = deny.map(|l| entries(l, 20));
        d
    }

    fn live() -> LiveSnapshot {
        LiveSnapshot {
            recipients: vec![
                recipient("support@contoso.com", &["servicedesk@contoso.com", "smtp:Helpdesk@Contoso.com"]),
                recipient("ceo@contoso.com", &[]),
                // Claims another recipient's primary: ignored.
                recipient("cfo@contoso.com", &["ceo@contoso.com"]),
            ],
            ..LiveSnapshot::default()
        }
    }

    fn addresses(d: &DesiredState, list: ListKind) -> Vec<&str> {
        d.apps[0].list(list).unwrap().iter().map(|e| e.address.as_str()).collect()
    }

    #[test]
    fn nothing_to_map_borrows_and_says_nothing() {
        let d = desired(&["support@contoso.com", "ceo@contoso.com"], None);
        let (out, findings) = primary_addresses(&d, &live());
        assert!(matches!(out, Cow::Borrowed(_)));
        assert!(findings.is_empty());
    }

    #[test]
    fn a_secondary_address_is_planned_as_the_primary_with_a_located_finding() {
        let d = desired(&["servicedesk@contoso.com", "ceo@contoso.com"], Some(&["helpdesk@contoso.com"]));
        let (out, findings) = primary_addresses(&d, &live());
        assert_eq!(addresses(&out, ListKind::Allow), ["support@contoso.com", "ceo@contoso.com"]);
        assert_eq!(addresses(&out, ListKind::Deny), ["support@contoso.com"]);
        // Positions are kept for the rewritten entry.
        assert_eq!(out.apps[0].allow.as_ref().unwrap()[0].at, Position { line: 10, column: 9 });
        assert_eq!(findings.len(), 2);
        assert_eq!(findings[0].code, "proxy-address");
        assert_eq!(findings[0].app.as_deref(), Some("mailer"));
        assert_eq!(
            findings[0].message,
            "policies.yaml:10:9: servicedesk@contoso.com in `allow` of app \"mailer\" is a secondary address of the mailbox support@contoso.com; planned as support@contoso.com; write the primary address to silence this"
        );
        assert!(findings[1].message.starts_with("policies.yaml:20:9: helpdesk@contoso.com in `deny`"));
    }

    /// An entry without a position (built in code, not read from a file)
    /// gets no `file:0:0:` prefix that would point nowhere.
    #[test]
    fn an_entry_without_a_position_is_not_located() {
        let mut d = desired(&["servicedesk@contoso.com"], None);
        d.apps[0].allow.as_mut().unwrap()[0].at = Position { line: 0, column: 0 };
        let (_, findings) = primary_addresses(&d, &live());
        assert!(
            findings[0].message.starts_with("servicedesk@contoso.com in `allow`"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn an_entry_that_repeats_its_list_once_mapped_is_dropped() {
        let d = desired(&["servicedesk@contoso.com", "support@contoso.com", "helpdesk@contoso.com"], None);
        let (out, findings) = primary_addresses(&d, &live());
        assert_eq!(addresses(&out, ListKind::Allow), ["support@contoso.com"]);
        assert_eq!(findings.len(), 2);
        assert!(findings.iter().all(|f| f.message.contains("already in the list")), "{findings:?}");
        // Two secondaries of one mailbox: the first stands for it.
        let d = desired(&["servicedesk@contoso.com", "helpdesk@contoso.com"], None);
        let (out, findings) = primary_addresses(&d, &live());
        assert_eq!(addresses(&out, ListKind::Allow), ["support@contoso.com"]);
        assert!(findings[0].message.contains("planned as support@contoso.com"));
        assert!(findings[1].message.contains("already in the list"));
    }

    #[test]
    fn verify_expects_the_mailbox_a_secondary_address_names() {
        let d = desired(&["servicedesk@contoso.com"], None);
        let known: Vec<String> = live().recipients.iter().map(|r| r.address.clone()).collect();
        let (d, _) = primary_addresses(&d, &live());
        let checks = crate::expected_access(&d, &known, 10);
        let rows: Vec<(&str, bool)> = checks.iter().map(|c| (c.mailbox.as_str(), c.allowed)).collect();
        // support@ is the allowed mailbox, not an unlisted one expected denied.
        assert_eq!(
            rows,
            [("support@contoso.com", true), ("ceo@contoso.com", false), ("cfo@contoso.com", false)]
        );
    }

    #[test]
    fn a_proxy_that_is_another_recipients_primary_is_not_followed() {
        let d = desired(&["ceo@contoso.com"], None);
        let (out, findings) = primary_addresses(&d, &live());
        assert_eq!(addresses(&out, ListKind::Allow), ["ceo@contoso.com"]);
        assert!(findings.is_empty());
    }
}
