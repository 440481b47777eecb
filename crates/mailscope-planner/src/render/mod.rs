//! Renderers of a [`Plan`]: Terraform-like text, a markdown pull-request
//! comment, JSON, and SARIF for code-scanning views of drift.
//!
//! Text and markdown share one model, `sections`: per app, the lines of
//! its changes grouped by object (a group and its members, then policies),
//! whereas `plan.steps` is in execution order. Renderers return strings; the
//! CLI decides where they go and whether to colour.
//!
//! Names, addresses and finding texts come from the file or the tenant and
//! are untrusted: every renderer passes them through `printable`, so that
//! none can start a line of its own or send a terminal escape sequence.
//! Markdown escapes them further for where they land (`escape`).

mod audit;
mod escape;
mod header;
mod markdown;
mod sarif;
mod text;

pub use audit::{audit_json, audit_markdown, audit_text};
pub use markdown::{
    COMMENT_LIMIT, COMMENT_MARKER, MarkdownOptions, Sections, markdown, markdown_comment, markdown_parts,
    markdown_parts_with, markdown_with,
};
pub use sarif::{audit_sarif, sarif, sarif_with_exposures};
pub use text::{TextOptions, text, text_with};

use std::collections::HashMap;

use crate::live::AccessRight;
use crate::plan::{Action, AppChange, AppPlan, Effect, Plan, Step};

/// Renders the plan as pretty JSON (the format of `docs/plan-format.md`).
///
/// # Panics
///
/// Never: a plan is plain data.
pub fn json(plan: &Plan) -> String {
    let mut out = serde_json::to_string_pretty(plan).expect("a plan always serialises");
    out.push('\n');
    out
}

/// `text` with control characters (line breaks, ESC, …) and bidirectional
/// overrides replaced by U+FFFD: what is shown is one line, in the order it
/// is stored.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// The sign Terraform would show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    Add,
    Remove,
    Change,
    Replace,
}

impl Sign {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Sign::Add => "+",
            Sign::Remove => "-",
            Sign::Change => "~",
            Sign::Replace => "-/+",
        }
    }
}

/// One rendered line of an app section.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) indent: usize,
    pub(crate) sign: Sign,
    pub(crate) text: String,
    pub(crate) widening: bool,
}

/// One app's part of the plan.
pub(crate) struct Section<'a> {
    pub(crate) app: &'a AppPlan,
    pub(crate) lines: Vec<Line>,
}

impl Section<'_> {
    pub(crate) fn heading(&self) -> String {
        let app = self.app;
        let what = match app.change {
            AppChange::Unchanged => "is unchanged",
            AppChange::Create => "will be restricted",
            AppChange::Update => "will be updated",
            AppChange::LockDown if app.unlisted => {
                "is not in the file and will be locked down (unlistedApps: lock-down)"
            }
            AppChange::LockDown => "left the file and will be locked down",
            AppChange::Remove => "left the file; its managed objects will be removed",
            AppChange::Affected => "is not in the file but shares a group this plan changes",
        };
        printable(&format!("{} ({}) {what}: {} -> {}", app.name, app.app_id, app.before, app.after))
    }

    /// A line about the mailboxes the app gains, when it gains any.
    pub(crate) fn gains(&self) -> Option<String> {
        let app = self.app;
        if app.becomes_unrestricted {
            Some(
                "WIDENS ACCESS: the app loses its allow list and may reach every mailbox not denied"
                    .to_owned(),
            )
        } else if app.gains.is_empty() {
            None
        } else {
            Some(printable(&format!("WIDENS ACCESS: may newly reach {}", app.gains.join(", "))))
        }
    }
}

/// Whether some app of the plan gains `mailbox`.
fn gained(plan: &Plan, mailbox: &str) -> bool {
    plan.apps.iter().any(|a| a.gains.iter().any(|g| g.eq_ignore_ascii_case(mailbox)))
}

fn right(r: AccessRight) -> &'static str {
    match r {
        AccessRight::RestrictAccess => "RestrictAccess",
        AccessRight::DenyAccess => "DenyAccess",
    }
}

/// Each app's steps, in plan order, found in one pass over the plan.
///
/// [`Plan::steps_of`] scans every step; calling it once per app made
/// rendering a 20,000-app plan quadratic (10 s of CPU for 66,000 steps).
pub(crate) fn steps_by_app(plan: &Plan) -> HashMap<&str, Vec<&Step>> {
    let mut by_app: HashMap<&str, Vec<&Step>> = HashMap::new();
    for s in &plan.steps {
        by_app.entry(s.app_id.as_str()).or_default().push(s);
    }
    by_app
}

/// Groups each app's steps by object, in a stable order.
pub(crate) fn sections(plan: &Plan) -> Vec<Section<'_>> {
    let by_app = steps_by_app(plan);
    plan.apps
        .iter()
        .filter(|a| a.change != AppChange::Unchanged)
        .map(|app| {
            let steps: Vec<&Step> = by_app.get(app.app_id.as_str()).cloned().unwrap_or_default();
            let mut lines = Vec::new();
            // Groups in order of first appearance.
            let mut groups: Vec<&str> = Vec::new();
            for s in &steps {
                if let Action::CreateGroup { group, .. }
                | Action::MarkGroup { group, .. }
                | Action::AddMember { group, .. }
                | Action::RemoveMember { group, .. }
                | Action::ReplaceMembers { group, .. }
                | Action::RemoveGroup { group } = &s.action
                    && !groups.contains(&group.as_str())
                {
                    groups.push(group);
                }
            }
            for g in groups {
                let of_group: Vec<_> = steps.iter().filter(|s| s.action.group() == Some(g)).collect();
                let (sign, note) = if of_group.iter().any(|s| matches!(s.action, Action::CreateGroup { .. })) {
                    (Sign::Add, "")
                } else if of_group.iter().any(|s| matches!(s.action, Action::RemoveGroup { .. })) {
                    (Sign::Remove, "")
                } else if of_group.iter().any(|s| matches!(s.action, Action::MarkGroup { .. })) {
                    (Sign::Change, " (adopted: marked as managed by mailscope)")
                } else {
                    (Sign::Change, "")
                };
                lines.push(Line { indent: 0, sign, text: format!("group \"{g}\"{note}"), widening: false });
                for s in &of_group {
                    let member = |sign, member: &str, widening| Line {
                        indent: 1,
                        sign,
                        text: format!("member {member}"),
                        widening,
                    };
                    match &s.action {
                        Action::RemoveMember { member: m, .. } => {
                            lines.push(member(Sign::Remove, m, s.effect == Effect::Widening));
                        }
                        Action::AddMember { member: m, .. } => {
                            lines.push(member(Sign::Add, m, s.effect == Effect::Widening));
                        }
                        Action::CreateGroup { members, .. } => {
                            lines.extend(members.iter().map(|m| member(Sign::Add, m, false)));
                        }
                        // One call, but reviewers see each mailbox that
                        // leaves or joins; a line is marked widening when the
                        // step widens and the mailbox is one an app gains.
                        Action::ReplaceMembers { added, removed, .. } => {
                            let widening = |m: &str| s.effect == Effect::Widening && gained(plan, m);
                            lines.extend(removed.iter().map(|m| member(Sign::Remove, m, widening(m))));
                            lines.extend(added.iter().map(|m| member(Sign::Add, m, widening(m))));
                        }
                        _ => {}
                    }
                }
            }
            // Policies: pair a removal with a creation of the same right as a
            // replacement (created first, then removed).
            let mut removals: Vec<_> =
                steps.iter().filter(|s| matches!(s.action, Action::RemovePolicy { .. })).collect();
            for s in &steps {
                match &s.action {
                    Action::CreatePolicy { group, access_right, .. } => {
                        let paired = removals.iter().position(|r| {
                            matches!(&r.action, Action::RemovePolicy { access_right: ar, .. } if ar == access_right)
                        });
                        if let Some(i) = paired {
                            let r = removals.remove(i);
                            let Action::RemovePolicy { scope, .. } = &r.action else { unreachable!() };
                            lines.push(Line {
                                indent: 0,
                                sign: Sign::Replace,
                                text: format!(
                                    "policy {}: \"{scope}\" -> \"{group}\" (new one first, then the old one goes)",
                                    right(*access_right)
                                ),
                                widening: s.effect == Effect::Widening || r.effect == Effect::Widening,
                            });
                        } else {
                            lines.push(Line {
                                indent: 0,
                                sign: Sign::Add,
                                text: format!("policy {} on \"{group}\"", right(*access_right)),
                                widening: s.effect == Effect::Widening,
                            });
                        }
                    }
                    Action::SetPolicyDescription { group, .. } => lines.push(Line {
                        indent: 0,
                        sign: Sign::Change,
                        text: format!(
                            "policy on \"{group}\" (description set in place: the mailscope marker and the app's description)"
                        ),
                        widening: false,
                    }),
                    _ => {}
                }
            }
            for r in removals {
                if let Action::RemovePolicy { scope, access_right, .. } = &r.action {
                    lines.push(Line {
                        indent: 0,
                        sign: Sign::Remove,
                        text: format!("policy {} on \"{scope}\"", right(*access_right)),
                        widening: r.effect == Effect::Widening,
                    });
                }
            }
            lines.extend(steps.iter().filter_map(|s| rbac_line(&s.action, s.effect)));
            for line in &mut lines {
                line.text = printable(&line.text);
            }
            Section { app, lines }
        })
        .collect()
}

/// What a scope filter selects, in words.
fn selects(filter: &crate::plan::ScopeFilter) -> String {
    match (&filter.allow_group, &filter.deny_group) {
        (Some(a), Some(d)) => format!("direct members of \"{a}\" except those of \"{d}\""),
        (Some(a), None) => format!("direct members of \"{a}\""),
        (None, Some(d)) => format!("every recipient except direct members of \"{d}\""),
        (None, None) => "every recipient".to_owned(),
    }
}

/// The line of an RBAC for Applications or Entra step, in execution order
/// after the groups and policies.
fn rbac_line(action: &Action, effect: Effect) -> Option<Line> {
    let (sign, text) = match action {
        Action::CreateServicePrincipal { object_id, .. } => {
            (Sign::Add, format!("Exchange service principal (Entra object id {object_id})"))
        }
        Action::RemoveServicePrincipal { .. } => (Sign::Remove, "Exchange service principal".to_owned()),
        Action::CreateManagementScope { name, filter, .. } => {
            (Sign::Add, format!("management scope \"{name}\": {}", selects(filter)))
        }
        Action::SetManagementScope { name, filter, .. } => {
            (Sign::Change, format!("management scope \"{name}\": now {}", selects(filter)))
        }
        Action::RemoveManagementScope { name, .. } => (Sign::Remove, format!("management scope \"{name}\"")),
        Action::CreateRoleAssignment { permission, scope, .. } => {
            (Sign::Add, format!("role Application {permission} on scope \"{scope}\""))
        }
        Action::RemoveRoleAssignment { permission, scope, .. } => (
            Sign::Remove,
            match scope {
                Some(scope) => format!("role Application {permission} on scope \"{scope}\""),
                None => format!("role Application {permission} (whole organization)"),
            },
        ),
        Action::RemoveEntraGrant { permission, resource_app_id, .. } => {
            let resource = mailscope_permissions::Resource::from_app_id(resource_app_id)
                .map_or_else(|| resource_app_id.clone(), |r| r.display_name().to_owned());
            (Sign::Remove, format!("Entra grant {permission} ({resource}, tenant-wide)"))
        }
        _ => return None,
    };
    Some(Line { indent: 0, sign, text, widening: effect == Effect::Widening })
}

/// `N to add, N to change, N to destroy.`
pub(crate) fn counts(plan: &Plan) -> String {
    format!(
        "{} to add, {} to change, {} to destroy.",
        plan.summary.add, plan.summary.change, plan.summary.destroy
    )
}

/// `Plan: N to add, N to change, N to destroy.`
pub(crate) fn summary_line(plan: &Plan) -> String {
    format!("Plan: {}", counts(plan))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{AccessSummary, PLAN_FORMAT_VERSION, ScopeFilter, Summary};

    const APP: &str = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60";

    fn plan_of(actions: Vec<(Action, Effect)>) -> Plan {
        let steps: Vec<Step> = actions
            .into_iter()
            .enumerate()
            .map(|(index, (action, effect))| Step {
                index,
                app: "crm".into(),
                app_id: APP.into(),
                wave: 0,
                action,
                effect,
            })
            .collect();
        let summary = Summary::count(&steps);
        let app = AppPlan {
            name: "crm".into(),
            app_id: APP.into(),
            change: AppChange::Update,
            before: AccessSummary::Unrestricted,
            after: AccessSummary::Unrestricted,
            gains: Vec::new(),
            becomes_unrestricted: false,
            line: None,
            unlisted: false,
        };
        Plan { format_version: PLAN_FORMAT_VERSION, steps, apps: vec![app], findings: Vec::new(), summary }
    }

    fn lines(plan: &Plan) -> Vec<(Sign, String, bool)> {
        sections(plan).remove(0).lines.into_iter().map(|l| (l.sign, l.text, l.widening)).collect()
    }

    fn create(group: &str) -> Action {
        Action::CreatePolicy {
            app_id: APP.into(),
            group: group.into(),
            access_right: AccessRight::RestrictAccess,
            description: String::new(),
        }
    }

    fn remove(scope: &str) -> Action {
        Action::RemovePolicy {
            identity: format!("t\\{APP}:S-1;{scope}"),
            app_id: APP.into(),
            scope: scope.into(),
            access_right: AccessRight::RestrictAccess,
        }
    }

    /// A policy moved to another group is one "replace" line, marked
    /// widening when either of its two steps widens, and only then.
    #[test]
    fn a_replaced_policy_is_widening_when_either_step_is() {
        let replace_text = "policy RestrictAccess: \"old\" -> \"new\" (new one first, then the old one goes)";
        for (create_effect, remove_effect, widening) in [
            (Effect::Widening, Effect::Narrowing, true),
            (Effect::Narrowing, Effect::Widening, true),
            (Effect::Narrowing, Effect::Narrowing, false),
            (Effect::Neutral, Effect::Neutral, false),
        ] {
            let plan = plan_of(vec![(create("new"), create_effect), (remove("old"), remove_effect)]);
            assert_eq!(
                lines(&plan),
                [(Sign::Replace, replace_text.to_owned(), widening)],
                "{create_effect:?} then {remove_effect:?}"
            );
        }
        // A removal with no creation to pair with is its own line.
        for (effect, widening) in [(Effect::Widening, true), (Effect::Narrowing, false)] {
            let plan = plan_of(vec![(remove("old"), effect)]);
            assert_eq!(
                lines(&plan),
                [(Sign::Remove, "policy RestrictAccess on \"old\"".to_owned(), widening)]
            );
        }
    }

    /// Each member line carries its own step's direction.
    #[test]
    fn member_lines_are_widening_exactly_when_their_step_is() {
        let remove = |m: &str| Action::RemoveMember { group: "g".into(), member: m.into() };
        let add = |m: &str| Action::AddMember { group: "g".into(), member: m.into() };
        let plan = plan_of(vec![
            (remove("a@c.com"), Effect::Widening),
            (remove("b@c.com"), Effect::Narrowing),
            (add("c@c.com"), Effect::Widening),
            (add("d@c.com"), Effect::Narrowing),
        ]);
        let flags: Vec<(String, bool)> = lines(&plan).into_iter().skip(1).map(|(_, t, w)| (t, w)).collect();
        assert_eq!(
            flags,
            [
                ("member a@c.com".to_owned(), true),
                ("member b@c.com".to_owned(), false),
                ("member c@c.com".to_owned(), true),
                ("member d@c.com".to_owned(), false),
            ]
        );
    }

    /// Every RBAC step has a line that says what it does, a scope in words.
    #[test]
    fn rbac_steps_are_said_in_words() {
        let filter = |allow: Option<&str>, deny: Option<&str>| ScopeFilter {
            allow_group: allow.map(str::to_owned),
            deny_group: deny.map(str::to_owned),
        };
        let scope = |name: &str, f: ScopeFilter| Action::CreateManagementScope {
            name: name.into(),
            app_id: APP.into(),
            filter: f,
        };
        let plan = plan_of(vec![
            (
                Action::CreateServicePrincipal {
                    app_id: APP.into(),
                    object_id: "oid-1".into(),
                    display_name: "x".into(),
                },
                Effect::Neutral,
            ),
            (scope("s1", filter(Some("a"), Some("d"))), Effect::Neutral),
            (scope("s2", filter(Some("a"), None)), Effect::Neutral),
            (scope("s3", filter(None, Some("d"))), Effect::Neutral),
            (
                Action::SetManagementScope {
                    name: "s4".into(),
                    app_id: APP.into(),
                    filter: filter(None, None),
                },
                Effect::Widening,
            ),
            (Action::RemoveServicePrincipal { app_id: APP.into() }, Effect::Neutral),
            (Action::RemoveManagementScope { name: "s5".into(), app_id: APP.into() }, Effect::Narrowing),
            (
                Action::RemoveRoleAssignment {
                    name: "r1".into(),
                    app_id: APP.into(),
                    permission: "Mail.Send".into(),
                    scope: Some("s5".into()),
                },
                Effect::Narrowing,
            ),
            (
                Action::RemoveRoleAssignment {
                    name: "r2".into(),
                    app_id: APP.into(),
                    permission: "Mail.Read".into(),
                    scope: None,
                },
                Effect::Narrowing,
            ),
        ]);
        let texts: Vec<(Sign, String, bool)> = lines(&plan);
        assert_eq!(
            texts,
            [
                (Sign::Add, "Exchange service principal (Entra object id oid-1)".to_owned(), false),
                (
                    Sign::Add,
                    "management scope \"s1\": direct members of \"a\" except those of \"d\"".to_owned(),
                    false
                ),
                (Sign::Add, "management scope \"s2\": direct members of \"a\"".to_owned(), false),
                (
                    Sign::Add,
                    "management scope \"s3\": every recipient except direct members of \"d\"".to_owned(),
                    false
                ),
                (Sign::Change, "management scope \"s4\": now every recipient".to_owned(), true),
                (Sign::Remove, "Exchange service principal".to_owned(), false),
                (Sign::Remove, "management scope \"s5\"".to_owned(), false),
                (Sign::Remove, "role Application Mail.Send on scope \"s5\"".to_owned(), false),
                (Sign::Remove, "role Application Mail.Read (whole organization)".to_owned(), false),
            ]
        );
    }
}
