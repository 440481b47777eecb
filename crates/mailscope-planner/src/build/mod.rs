//! `plan()`: desired state + live snapshot → ordered, classified steps.
//!
//! First, [`proxies`] rewrites entries written with a secondary (proxy)
//! address to the recipient's primary address, with a finding each.
//!
//! The planner then works in three passes, one module each:
//! 1. [`target`]: build the *target* world, i.e. the live world with the
//!    managed objects changed to what the file asks (unmanaged objects are
//!    copied as they are; [`ownership`] says which are managed and reports
//!    the rest);
//! 2. [`diff`]: diff live against target into steps, each placed in a *wave*
//!    that fixes its order; [`coalesce`] turns a group's member steps into
//!    one replace where that is fewer calls and safe;
//! 3. [`replay`]: replay the steps on the live world to classify each one
//!    and to check the safe-order rule; a violation is a planner bug and
//!    fails the plan rather than risk an unrestricted window.
//!
//! [`unlisted`] (part of pass 1) names the apps outside the file that can
//! reach mailboxes and, with `unlistedApps: lock-down`, fences them.
//! Then [`apps`] summarises each app's reach before and after. [`naming`]
//! holds the names and markers mailscope gives its objects, which other
//! parts of the crate need too.

mod apps;
mod coalesce;
mod diff;
mod naming;
mod ownership;
mod proxies;
mod rbac;
mod replay;
mod target;
mod unlisted;

pub use naming::{derived_group_name, marker, parse_marker, prefixed_group_name};
pub use proxies::primary_addresses;
// Naming rules for the rest of the crate (what to read from a tenant must
// agree with what the planner will look for).
#[allow(unused_imports)]
pub(crate) use naming::{
    human_description, is_half_created, lockdown_group_name, name_from_group, right_of, unused_name,
};

use mailscope_spec::DesiredState;

use crate::error::PlanError;
use crate::live::LiveSnapshot;
use crate::plan::{PLAN_FORMAT_VERSION, Plan, Summary};
use crate::world::World;

/// What happens to an app that left the desired file but still has managed
/// objects in the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemovedApps {
    /// Keep its Restrict policy and empty its allow group: the app reaches no
    /// mailbox. Deleting the policy instead would hand it every mailbox of the
    /// tenant, so this is the default.
    #[default]
    LockDown,
    /// Remove its managed groups and policies (a widening the user must ask for).
    Remove,
}

/// Knobs of [`plan`].
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Fate of apps that left the file.
    pub removed_apps: RemovedApps,
}

/// Who a managed group or policy belongs to.
#[derive(Debug, Clone)]
struct Owner {
    name: String,
    app_id: String,
}

/// Plans the changes that bring `live` to `desired`.
pub fn plan(desired: &DesiredState, live: &LiveSnapshot, options: &PlanOptions) -> Result<Plan, PlanError> {
    let (desired, proxy_findings) = proxies::primary_addresses(desired, live);
    let desired = desired.as_ref();
    let live_world = World::from_live(live);
    let mut target = target::build(desired, live, &live_world, options)?;
    target.findings.splice(0..0, proxy_findings);
    let steps = replay::ordered_and_checked(desired, &live_world, &target.world, &target.owners)?;
    let rbac = replay::rbac_apps(&live_world, &target.world);
    let apps =
        apps::AppsContext { desired, options, live: &live_world, target: &target, steps: &steps, rbac }
            .app_plans();
    let summary = Summary::count(&steps);
    Ok(Plan { format_version: PLAN_FORMAT_VERSION, steps, apps, findings: target.findings, summary })
}
