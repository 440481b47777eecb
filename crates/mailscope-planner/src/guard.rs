//! The approvals a plan needs before it may be applied.
//!
//! Two refusals protect against a plan the user did not mean: one that
//! widens some app's reach (it must be reviewed and approved on purpose),
//! and one that locks down or removes most apps at once (the shape of a
//! desired file emptied by mistake). Every command that applies (`apply`,
//! `reconcile --correct`) asks here, so the rule exists once. The refusal is
//! typed: the binary turns it into a message naming its own flags.

use crate::plan::{AppChange, Plan};

/// Fewest apps leaving at once that can count as a mass change: with
/// fewer, removing "most" apps is an ordinary edit of a small file.
pub const MASS_CHANGE_MIN_APPS: usize = 3;

/// What the user approved up front.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApprovalFlags {
    /// Steps that give an app access to a mailbox it cannot reach now.
    pub allow_widening: bool,
    /// Locking down or removing more than half of the apps.
    pub allow_mass_change: bool,
}

/// One app that would reach more than it does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideningApp {
    /// The app's name in the plan.
    pub name: String,
    /// Every mailbox not denied becomes reachable (it loses its last
    /// Restrict policy); `gains` then does not tell the whole story.
    pub becomes_unrestricted: bool,
    /// Mailboxes it gains.
    pub gains: Vec<String>,
}

/// Why a plan may not be applied without more approval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardRefusal {
    /// Some apps would reach mailboxes they cannot reach now.
    #[error("the plan widens the access of {} app(s)", apps.len())]
    Widening {
        /// The widening apps, in plan order.
        apps: Vec<WideningApp>,
    },
    /// More than half of the apps (and at least [`MASS_CHANGE_MIN_APPS`])
    /// are locked down or removed.
    #[error("the plan locks down or removes {leaving} of {total} apps")]
    MassChange {
        /// Apps locked down or removed.
        leaving: usize,
        /// Apps in the plan.
        total: usize,
    },
}

/// Checks that the plan needs no approval beyond `flags`. Widening is
/// checked first: it is the refusal that names what would be exposed.
///
/// # Errors
///
/// [`GuardRefusal`] naming the apps or counts that need approval.
pub fn check_approvals(plan: &Plan, flags: ApprovalFlags) -> Result<(), GuardRefusal> {
    if plan.widens() && !flags.allow_widening {
        let apps = plan
            .apps
            .iter()
            .filter(|a| a.widens())
            .map(|a| WideningApp {
                name: a.name.clone(),
                becomes_unrestricted: a.becomes_unrestricted,
                gains: a.gains.clone(),
            })
            .collect();
        return Err(GuardRefusal::Widening { apps });
    }
    let total = plan.apps.len();
    let leaving =
        plan.apps.iter().filter(|a| matches!(a.change, AppChange::LockDown | AppChange::Remove)).count();
    if leaving >= MASS_CHANGE_MIN_APPS && leaving * 2 > total && !flags.allow_mass_change {
        return Err(GuardRefusal::MassChange { leaving, total });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{AccessSummary, AppPlan, Summary};

    fn app(name: &str, change: AppChange) -> AppPlan {
        AppPlan {
            unlisted: false,
            name: name.to_owned(),
            app_id: format!("id-{name}"),
            change,
            before: AccessSummary::Only { allowed: 1 },
            after: AccessSummary::Only { allowed: 1 },
            gains: Vec::new(),
            becomes_unrestricted: false,
            line: None,
        }
    }

    fn plan(apps: Vec<AppPlan>) -> Plan {
        Plan { format_version: 1, steps: Vec::new(), apps, findings: Vec::new(), summary: Summary::default() }
    }

    const NONE: ApprovalFlags = ApprovalFlags { allow_widening: false, allow_mass_change: false };

    #[test]
    fn a_narrowing_plan_needs_no_approval() {
        let p = plan(vec![app("a", AppChange::Update), app("b", AppChange::LockDown)]);
        assert_eq!(check_approvals(&p, NONE), Ok(()));
    }

    #[test]
    fn widening_is_refused_naming_each_app_and_its_gains() {
        let mut gains = app("mailer", AppChange::Update);
        gains.gains = vec!["a@contoso.com".into(), "b@contoso.com".into()];
        let mut open = app("open", AppChange::Remove);
        open.becomes_unrestricted = true;
        let p = plan(vec![app("quiet", AppChange::Update), gains, open]);
        let Err(GuardRefusal::Widening { apps }) = check_approvals(&p, NONE) else { panic!("not refused") };
        assert_eq!(
            apps,
            vec![
                WideningApp {
                    name: "mailer".into(),
                    becomes_unrestricted: false,
                    gains: vec!["a@contoso.com".into(), "b@contoso.com".into()],
                },
                WideningApp { name: "open".into(), becomes_unrestricted: true, gains: vec![] },
            ]
        );
        assert_eq!(check_approvals(&p, ApprovalFlags { allow_widening: true, ..NONE }), Ok(()));
    }

    #[test]
    fn most_apps_leaving_is_a_mass_change() {
        let p = plan(vec![
            app("a", AppChange::LockDown),
            app("b", AppChange::Remove),
            app("c", AppChange::LockDown),
            app("d", AppChange::Update),
            app("e", AppChange::Unchanged),
        ]);
        assert_eq!(check_approvals(&p, NONE), Err(GuardRefusal::MassChange { leaving: 3, total: 5 }));
        assert_eq!(check_approvals(&p, ApprovalFlags { allow_mass_change: true, ..NONE }), Ok(()));
    }

    #[test]
    fn half_or_fewer_than_three_is_not_a_mass_change() {
        let half = plan(vec![
            app("a", AppChange::LockDown),
            app("b", AppChange::LockDown),
            app("c", AppChange::LockDown),
            app("d", AppChange::Update),
            app("e", AppChange::Update),
            app("f", AppChange::Update),
        ]);
        assert_eq!(check_approvals(&half, NONE), Ok(()));
        let two = plan(vec![app("a", AppChange::LockDown), app("b", AppChange::Remove)]);
        assert_eq!(check_approvals(&two, NONE), Ok(()));
    }

    #[test]
    fn widening_is_reported_before_mass_change() {
        let mut open = app("a", AppChange::Remove);
        open.becomes_unrestricted = true;
        let p = plan(vec![open, app("b", AppChange::LockDown), app("c", AppChange::LockDown)]);
        assert!(matches!(check_approvals(&p, NONE), Err(GuardRefusal::Widening { .. })));
        assert_eq!(
            check_approvals(&p, ApprovalFlags { allow_widening: true, ..NONE }),
            Err(GuardRefusal::MassChange { leaving: 3, total: 3 })
        );
    }
}
