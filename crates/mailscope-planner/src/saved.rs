//! Saved plans: a plan bound to the inputs it was made from.
//!
//! `mailscope plan --out PLAN.json` writes a [`SavedPlan`]; `mailscope apply
//! PLAN.json` re-reads the tenant and refuses to go on when the live state
//! moved since (like Terraform's stale plan check), naming what changed. To
//! name it, the saved plan carries the normalised live snapshot it was made
//! from — group names, members and policies, nothing secret.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use mailscope_spec::DesiredState;

use crate::build::{PlanOptions, RemovedApps};
use crate::error::PlanError;
use crate::live::LiveSnapshot;
use crate::plan::Plan;
use crate::world::key;

/// Version of the saved-plan file format.
pub const SAVED_PLAN_VERSION: u32 = 1;

/// A plan with what it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// [`SAVED_PLAN_VERSION`].
    pub saved_plan_version: u32,
    /// Version of the mailscope that made it; a different build refuses it.
    pub tool_version: String,
    /// The desired file as named on the command line.
    pub desired_file: String,
    /// SHA-256 (hex) of the desired file's bytes.
    pub desired_sha256: String,
    /// The tenant id (GUID, lower case) the live state was read from; none
    /// for a plan made from a saved snapshot that names no tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Whether apps that left the file are removed (`true`) or locked down.
    pub remove_unlisted: bool,
    /// The apps the plan was limited to (`--app`, names or client ids);
    /// empty for the whole file. Re-planning applies the same limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<String>,
    /// [`fingerprint`] of `live`.
    pub live_fingerprint: String,
    /// The live state the plan was made from, normalised.
    pub live: LiveSnapshot,
    /// The plan.
    pub plan: Plan,
}

/// Why a saved plan may not be applied. Each refusal means "plan again":
/// the saved plan is not what applying now would do, or cannot be trusted
/// to be.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The file is not a saved plan's JSON.
    #[error("not a plan saved by `mailscope plan --out`")]
    NotASavedPlan(#[source] serde_json::Error),
    /// Another saved-plan format.
    #[error("saved plan version {found} is not supported")]
    UnsupportedVersion {
        /// The version the file declares.
        found: u32,
    },
    /// Another build made it; its planner may decide differently.
    #[error("made by mailscope {made_by}, this is {this}")]
    OtherToolVersion {
        /// The version that saved it.
        made_by: String,
        /// This version.
        this: String,
    },
    /// The plan was made for another tenant than the one it is applied to.
    #[error("the plan was made for tenant {planned_for}, not {this}")]
    OtherTenant {
        /// The tenant id recorded in the plan.
        planned_for: String,
        /// The tenant id it is being applied to.
        this: String,
    },
    /// The desired file's bytes are not those the plan was made from.
    #[error("the desired file changed since the plan was saved")]
    DesiredChanged,
    /// The tenant moved since the plan was made.
    #[error("the tenant changed since the plan was saved")]
    Stale {
        /// What changed, as sentences (see [`live_changes`]).
        changes: Vec<String>,
    },
    /// Planning the same inputs again gives another plan: the file was
    /// edited, or the inputs it names are not the ones it was made from.
    #[error("the saved plan no longer matches its inputs")]
    Mismatch,
    /// The inputs can no longer be planned at all.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

impl SavedPlan {
    /// Binds a plan to what it was made from. `desired_sha256` is the
    /// [`sha256_hex`] of the desired file's bytes exactly as read, so that
    /// any edit shows.
    pub fn new(
        tool_version: &str,
        desired_file: &str,
        desired_sha256: String,
        options: &PlanOptions,
        live: &LiveSnapshot,
        plan: &Plan,
    ) -> SavedPlan {
        SavedPlan {
            saved_plan_version: SAVED_PLAN_VERSION,
            tool_version: tool_version.to_owned(),
            desired_file: desired_file.to_owned(),
            desired_sha256,
            tenant_id: live.tenant.as_deref().filter(|t| is_tenant_id(t)).map(str::to_ascii_lowercase),
            remove_unlisted: options.removed_apps == RemovedApps::Remove,
            apps: Vec::new(),
            live_fingerprint: fingerprint(live),
            live: normalize(live),
            plan: plan.clone(),
        }
    }

    /// The plan limited to the apps named (by name or client id, any case),
    /// like Terraform's `-target`: the other apps' entries and steps go (see
    /// [`Plan::without_apps`]); findings stay, they are reported, not applied.
    pub fn scoped(plan: &Plan, apps: &[String]) -> Plan {
        let named = |a: &crate::plan::AppPlan| {
            apps.iter().any(|n| n.eq_ignore_ascii_case(&a.name) || n.eq_ignore_ascii_case(&a.app_id))
        };
        let others: Vec<&str> = plan.apps.iter().filter(|a| !named(a)).map(|a| a.app_id.as_str()).collect();
        plan.without_apps(&others)
    }

    /// Records that `plan` was limited to `apps` (see [`SavedPlan::scoped`]), so that
    /// [`SavedPlan::plan_to_apply`] limits the fresh plan the same way.
    #[must_use]
    pub fn with_apps(mut self, apps: &[String]) -> SavedPlan {
        self.apps = apps.to_vec();
        self
    }

    /// The file's bytes: pretty JSON and a final newline.
    ///
    /// # Panics
    ///
    /// Never: a saved plan is plain data.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a saved plan always serialises");
        bytes.push(b'\n');
        bytes
    }

    /// Reads a saved plan made by `tool_version` of mailscope in this
    /// file format.
    ///
    /// # Errors
    ///
    /// [`SavedPlanError::NotASavedPlan`], [`SavedPlanError::UnsupportedVersion`]
    /// or [`SavedPlanError::OtherToolVersion`].
    pub fn from_json(text: &str, tool_version: &str) -> Result<SavedPlan, SavedPlanError> {
        let saved: SavedPlan = serde_json::from_str(text).map_err(SavedPlanError::NotASavedPlan)?;
        if saved.saved_plan_version != SAVED_PLAN_VERSION {
            return Err(SavedPlanError::UnsupportedVersion { found: saved.saved_plan_version });
        }
        if saved.tool_version != tool_version {
            return Err(SavedPlanError::OtherToolVersion {
                made_by: saved.tool_version,
                this: tool_version.to_owned(),
            });
        }
        Ok(saved)
    }

    /// Checks that the desired file is, byte for byte, the one planned
    /// (`desired_sha256` as for [`SavedPlan::new`]).
    /// Cheap, so callers ask before reaching the tenant.
    ///
    /// # Errors
    ///
    /// [`SavedPlanError::DesiredChanged`].
    pub fn check_desired(&self, desired_sha256: &str) -> Result<(), SavedPlanError> {
        if desired_sha256 == self.desired_sha256 { Ok(()) } else { Err(SavedPlanError::DesiredChanged) }
    }

    /// Checks that the plan is applied to the tenant it was made for
    /// (`tenant_id` as learnt from the tenant, not a name typed by the
    /// user: the same tenant has several names). A plan that records no
    /// tenant is only bound by [`SavedPlan::plan_to_apply`]'s staleness
    /// check.
    ///
    /// # Errors
    ///
    /// [`SavedPlanError::OtherTenant`].
    pub fn check_tenant(&self, tenant_id: &str) -> Result<(), SavedPlanError> {
        match &self.tenant_id {
            Some(planned) if !planned.eq_ignore_ascii_case(tenant_id.trim()) => {
                Err(SavedPlanError::OtherTenant {
                    planned_for: planned.clone(),
                    this: tenant_id.trim().to_ascii_lowercase(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The options the plan was made with.
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            removed_apps: if self.remove_unlisted { RemovedApps::Remove } else { RemovedApps::LockDown },
        }
    }

    /// The plan to apply against `live`, read just now: the saved one, once
    /// it is shown that the tenant did not move and that planning the same
    /// inputs again gives exactly it (so an edited plan file is refused).
    ///
    /// # Errors
    ///
    /// [`SavedPlanError::Stale`] naming every change, then
    /// [`SavedPlanError::Plan`] or [`SavedPlanError::Mismatch`].
    pub fn plan_to_apply(
        &self,
        desired: &DesiredState,
        live: &LiveSnapshot,
    ) -> Result<&Plan, SavedPlanError> {
        let changes = live_changes(&self.live, live);
        if !changes.is_empty() {
            return Err(SavedPlanError::Stale { changes });
        }
        let mut fresh = crate::build::plan(desired, live, &self.options())?;
        if !self.apps.is_empty() {
            fresh = SavedPlan::scoped(&fresh, &self.apps);
        }
        if fresh != self.plan {
            return Err(SavedPlanError::Mismatch);
        }
        Ok(&self.plan)
    }
}

/// Whether a tenant name is a tenant id (a GUID). A saved snapshot may name
/// its tenant by a domain, which cannot be compared with the id of the
/// tenant a plan is applied to, so such a plan records no tenant.
fn is_tenant_id(name: &str) -> bool {
    let parts: Vec<&str> = name.trim().split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The snapshot with everything that cannot matter to a plan removed or
/// put in a fixed order: lower-cased addresses, sorted lists. Two reads of
/// an unchanged tenant normalise to the same value.
pub fn normalize(live: &LiveSnapshot) -> LiveSnapshot {
    let mut n = live.clone();
    n.tenant = None;
    for g in &mut n.groups {
        g.members = g.members.iter().map(|m| key(m)).collect::<BTreeSet<_>>().into_iter().collect();
        g.id = key(&g.id);
    }
    n.groups.sort_by_key(|g| key(&g.name));
    for p in &mut n.policies {
        p.app_id = key(&p.app_id);
        p.scope_id = key(&p.scope_id);
    }
    n.policies.sort_by(|a, b| {
        (&a.app_id, &a.scope_id, a.access_right).cmp(&(&b.app_id, &b.scope_id, b.access_right))
    });
    for r in &mut n.recipients {
        r.address = key(&r.address);
        r.proxy_addresses =
            r.proxy_addresses.iter().map(|a| key(a)).collect::<BTreeSet<_>>().into_iter().collect();
    }
    n.recipients.sort_by(|a, b| a.address.cmp(&b.address));
    n.recipients.dedup_by(|a, b| a.address == b.address);
    n.grants.sort_by(|a, b| (&a.app_id, &a.permission).cmp(&(&b.app_id, &b.permission)));
    n
}

/// A short hash of the normalised snapshot.
///
/// # Panics
///
/// Never: a snapshot is plain data.
pub fn fingerprint(live: &LiveSnapshot) -> String {
    let bytes = serde_json::to_vec(&normalize(live)).expect("a snapshot always serialises");
    sha256_hex(&bytes)
}

/// What differs between the snapshot a plan was made from and a fresh one,
/// as sentences; empty when nothing that matters changed.
pub fn live_changes(saved: &LiveSnapshot, fresh: &LiveSnapshot) -> Vec<String> {
    let (a, b) = (normalize(saved), normalize(fresh));
    let mut out = Vec::new();
    let groups = |s: &LiveSnapshot| -> BTreeMap<String, _> {
        s.groups.iter().map(|g| (key(&g.name), g.clone())).collect()
    };
    let (ga, gb) = (groups(&a), groups(&b));
    for (k, g) in &ga {
        match gb.get(k) {
            None => out.push(format!("group \"{}\" was removed", g.name)),
            Some(h) => {
                for m in g.members.iter().filter(|m| !h.members.contains(m)) {
                    out.push(format!("{m} left group \"{}\"", g.name));
                }
                for m in h.members.iter().filter(|m| !g.members.contains(m)) {
                    out.push(format!("{m} joined group \"{}\"", g.name));
                }
                if g.marker != h.marker {
                    out.push(format!("the marker of group \"{}\" changed", g.name));
                }
            }
        }
    }
    for (k, g) in &gb {
        if !ga.contains_key(k) {
            out.push(format!("group \"{}\" was created", g.name));
        }
    }
    let policies = |s: &LiveSnapshot| -> BTreeMap<(String, String, String), String> {
        s.policies
            .iter()
            .map(|p| {
                (
                    (p.app_id.clone(), p.scope_name.clone(), format!("{:?}", p.access_right)),
                    p.description.clone(),
                )
            })
            .collect()
    };
    let (pa, pb) = (policies(&a), policies(&b));
    for ((app, scope, right), desc) in &pa {
        match pb.get(&(app.clone(), scope.clone(), right.clone())) {
            None => out.push(format!("the {right} policy of app {app} on \"{scope}\" was removed")),
            Some(d) if d != desc => {
                out.push(format!(
                    "the description of the {right} policy of app {app} on \"{scope}\" changed"
                ));
            }
            Some(_) => {}
        }
    }
    for (app, scope, right) in pb.keys() {
        if !pa.contains_key(&(app.clone(), scope.clone(), right.clone())) {
            out.push(format!("a {right} policy of app {app} on \"{scope}\" was created"));
        }
    }
    let addresses =
        |s: &LiveSnapshot| -> BTreeSet<String> { s.recipients.iter().map(|r| r.address.clone()).collect() };
    let (ra, rb) = (addresses(&a), addresses(&b));
    for r in ra.difference(&rb) {
        out.push(format!("mailbox {r} no longer exists"));
    }
    for r in rb.difference(&ra) {
        out.push(format!("mailbox {r} appeared"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::Recipient;

    const YAML: &str = "apiVersion: mailscope/v1\napps:\n  - name: mailer\n    appId: 00000000-0000-4000-8000-00000000000a\n    allow: [a@contoso.com]\n";

    fn live(addresses: &[&str]) -> LiveSnapshot {
        LiveSnapshot {
            format_version: 1,
            recipients: addresses
                .iter()
                .map(|a| Recipient {
                    address: (*a).to_owned(),
                    kind: "UserMailbox".into(),
                    id: None,
                    proxy_addresses: Vec::new(),
                })
                .collect(),
            ..LiveSnapshot::default()
        }
    }

    fn saved() -> (DesiredState, LiveSnapshot, SavedPlan) {
        let desired = mailscope_spec::parse(YAML, "t.yaml").unwrap();
        let live = live(&["a@contoso.com", "b@contoso.com"]);
        let plan = crate::build::plan(&desired, &live, &PlanOptions::default()).unwrap();
        assert!(!plan.is_empty());
        let saved = SavedPlan::new(
            "1.2.3",
            "t.yaml",
            sha256_hex(YAML.as_bytes()),
            &PlanOptions::default(),
            &live,
            &plan,
        );
        (desired, live, saved)
    }

    #[test]
    fn a_saved_plan_round_trips_and_applies_when_nothing_moved() {
        let (desired, live, saved) = saved();
        let back = SavedPlan::from_json(std::str::from_utf8(&saved.to_json()).unwrap(), "1.2.3").unwrap();
        assert_eq!(back, saved);
        assert!(!back.remove_unlisted);
        assert_eq!(back.live_fingerprint, fingerprint(&live));
        back.check_desired(&sha256_hex(YAML.as_bytes())).unwrap();
        assert_eq!(back.plan_to_apply(&desired, &live).unwrap(), &saved.plan);
    }

    #[test]
    fn the_tenant_id_is_recorded_and_another_tenant_is_refused() {
        let (_, mut live, saved) = saved();
        assert_eq!(saved.tenant_id, None, "a snapshot without a tenant binds none");
        saved.check_tenant("00000000-0000-4000-8000-0000000000aa").unwrap();
        live.tenant = Some("8F3C2B1A-4D5E-4F6A-9B8C-7D6E5F4A3B2C".into());
        let bound = SavedPlan::new(
            "1.2.3",
            "t.yaml",
            sha256_hex(YAML.as_bytes()),
            &PlanOptions::default(),
            &live,
            &saved.plan,
        );
        assert_eq!(bound.tenant_id.as_deref(), Some("8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c"));
        let back = SavedPlan::from_json(std::str::from_utf8(&bound.to_json()).unwrap(), "1.2.3").unwrap();
        back.check_tenant("8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c").unwrap();
        back.check_tenant("8F3C2B1A-4D5E-4F6A-9B8C-7D6E5F4A3B2C").unwrap();
        assert!(matches!(
            back.check_tenant("00000000-0000-4000-8000-0000000000AA"),
            Err(SavedPlanError::OtherTenant { planned_for, this })
                if planned_for == "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c" && this == "00000000-0000-4000-8000-0000000000aa"
        ));
        live.tenant = Some("contoso.onmicrosoft.com".into());
        let by_domain = SavedPlan::new(
            "1.2.3",
            "t.yaml",
            sha256_hex(YAML.as_bytes()),
            &PlanOptions::default(),
            &live,
            &saved.plan,
        );
        assert_eq!(by_domain.tenant_id, None, "a domain is not a tenant id");
        // The tenant is not part of the live state compared for staleness.
        assert_eq!(back.live_fingerprint, saved.live_fingerprint);
    }

    const TWO: &str = "apiVersion: mailscope/v1\napps:\n  - name: mailer\n    appId: 00000000-0000-4000-8000-00000000000a\n    allow: [a@contoso.com]\n  - name: crm\n    appId: 00000000-0000-4000-8000-00000000000b\n    allow: [b@contoso.com]\n";

    #[test]
    fn a_plan_limited_to_some_apps_keeps_only_theirs_and_is_replanned_with_the_limit() {
        let desired = mailscope_spec::parse(TWO, "t.yaml").unwrap();
        let live = live(&["a@contoso.com", "b@contoso.com"]);
        let full = crate::build::plan(&desired, &live, &PlanOptions::default()).unwrap();
        let only = SavedPlan::scoped(&full, &["CRM".to_owned()]);
        assert_eq!(only.apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["crm"]);
        assert!(!only.steps.is_empty() && only.steps.iter().all(|s| s.app_id.ends_with('b')));
        assert!(only.steps.len() < full.steps.len());
        let by_id = SavedPlan::scoped(&full, &["00000000-0000-4000-8000-00000000000B".to_owned()]);
        assert_eq!(by_id, only);
        let sha = sha256_hex(TWO.as_bytes());
        let saved = SavedPlan::new("1.2.3", "t.yaml", sha.clone(), &PlanOptions::default(), &live, &only)
            .with_apps(&["crm".to_owned()]);
        let back = SavedPlan::from_json(std::str::from_utf8(&saved.to_json()).unwrap(), "1.2.3").unwrap();
        assert_eq!(back.apps, ["crm"]);
        assert_eq!(back.plan_to_apply(&desired, &live).unwrap(), &only);
        // Without the recorded limit, the full plan differs from the saved one.
        let unlimited = SavedPlan::new("1.2.3", "t.yaml", sha, &PlanOptions::default(), &live, &only);
        assert!(matches!(unlimited.plan_to_apply(&desired, &live), Err(SavedPlanError::Mismatch)));
    }

    #[test]
    fn remove_unlisted_is_recorded_and_replanned_with() {
        let (_, live, saved) = saved();
        let options = PlanOptions { removed_apps: RemovedApps::Remove };
        let s = SavedPlan::new("1.2.3", "t.yaml", sha256_hex(YAML.as_bytes()), &options, &live, &saved.plan);
        assert!(s.remove_unlisted);
        assert_eq!(s.options().removed_apps, RemovedApps::Remove);
    }

    #[test]
    fn text_that_is_not_a_saved_plan_is_refused() {
        assert!(matches!(SavedPlan::from_json("{\"x\": 1}", "1.2.3"), Err(SavedPlanError::NotASavedPlan(_))));
    }

    #[test]
    fn another_format_version_is_refused() {
        let (_, _, mut saved) = saved();
        saved.saved_plan_version = SAVED_PLAN_VERSION + 1;
        let text = String::from_utf8(saved.to_json()).unwrap();
        assert!(matches!(
            SavedPlan::from_json(&text, "1.2.3"),
            Err(SavedPlanError::UnsupportedVersion { found }) if found == SAVED_PLAN_VERSION + 1
        ));
    }

    #[test]
    fn a_plan_made_by_another_build_is_refused() {
        let (_, _, saved) = saved();
        let text = String::from_utf8(saved.to_json()).unwrap();
        assert!(matches!(
            SavedPlan::from_json(&text, "9.9.9"),
            Err(SavedPlanError::OtherToolVersion { made_by, this }) if made_by == "1.2.3" && this == "9.9.9"
        ));
    }

    #[test]
    fn an_edited_desired_file_is_refused() {
        let (_, _, saved) = saved();
        let edited = YAML.replace("a@contoso.com", "b@contoso.com");
        assert!(matches!(
            saved.check_desired(&sha256_hex(edited.as_bytes())),
            Err(SavedPlanError::DesiredChanged)
        ));
    }

    #[test]
    fn a_tenant_that_moved_makes_the_plan_stale_and_names_the_change() {
        let (desired, _, saved) = saved();
        let moved = live(&["a@contoso.com", "b@contoso.com", "c@contoso.com"]);
        match saved.plan_to_apply(&desired, &moved) {
            Err(SavedPlanError::Stale { changes }) => {
                assert_eq!(changes, vec!["mailbox c@contoso.com appeared"]);
            }
            other => panic!("not stale: {other:?}"),
        }
    }

    #[test]
    fn an_edited_plan_is_refused() {
        let (desired, live, mut saved) = saved();
        saved.plan.steps.pop();
        assert!(matches!(saved.plan_to_apply(&desired, &live), Err(SavedPlanError::Mismatch)));
    }

    #[test]
    fn inputs_that_no_longer_plan_are_refused_with_the_planner_error() {
        let (_, live, saved) = saved();
        let other = YAML.replace("a@contoso.com", "nobody@contoso.com");
        let desired = mailscope_spec::parse(&other, "t.yaml").unwrap();
        assert!(matches!(saved.plan_to_apply(&desired, &live), Err(SavedPlanError::Plan(_))));
    }

    #[test]
    fn case_and_order_of_the_tenant_answer_do_not_count_as_a_change() {
        let (desired, _, saved) = saved();
        let reread = live(&["B@Contoso.com", "A@contoso.com"]);
        assert!(live_changes(&saved.live, &reread).is_empty());
        assert_eq!(fingerprint(&reread), saved.live_fingerprint);
        assert_eq!(saved.plan_to_apply(&desired, &reread).unwrap(), &saved.plan);
    }

    /// Only a GUID is a tenant id: a domain, a bare hex word, a GUID with
    /// a non-hex part or with parts of the wrong lengths is not.
    #[test]
    fn only_a_guid_is_a_tenant_id() {
        assert!(is_tenant_id(" 8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c "));
        for name in [
            "contoso.onmicrosoft.com",
            "deadbeef",
            "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
            "a-b-c-d-e",
            "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c-00",
        ] {
            assert!(!is_tenant_id(name), "{name}");
        }
    }

    /// The fingerprint ignores case and order (`normalize`) and sees any
    /// change that matters.
    #[test]
    fn the_fingerprint_sees_changes_and_ignores_case_and_order() {
        let a = live(&["a@contoso.com", "b@contoso.com"]);
        assert_eq!(fingerprint(&a), fingerprint(&live(&["B@contoso.com", "a@contoso.com"])));
        assert_ne!(fingerprint(&a), fingerprint(&live(&["a@contoso.com"])));
        assert_eq!(fingerprint(&a).len(), 64, "hex SHA-256");
    }

    /// A member that left and one that joined are named, each once; the
    /// member that stayed is not.
    #[test]
    fn member_moves_are_named_one_by_one() {
        let with = |members: &[&str]| {
            let mut l = live(&["m1@contoso.com", "m2@contoso.com", "m3@contoso.com"]);
            l.groups.push(crate::live::LiveGroup {
                kind: None,
                id: "g".into(),
                name: "Readers".into(),
                primary_smtp_address: "readers@contoso.com".into(),
                marker: None,
                distinguished_name: None,
                members: members.iter().map(|m| (*m).to_owned()).collect(),
            });
            l
        };
        let changes = live_changes(
            &with(&["m1@contoso.com", "m2@contoso.com"]),
            &with(&["m2@contoso.com", "m3@contoso.com"]),
        );
        assert_eq!(
            changes,
            ["m1@contoso.com left group \"Readers\"", "m3@contoso.com joined group \"Readers\""]
        );
    }

    /// Every kind of change between the snapshot a plan was made from and
    /// a fresh read is named once, and what did not change is not.
    #[test]
    fn every_kind_of_change_is_named_once() {
        use crate::live::{LiveGroup, LivePolicy};
        let g = |name: &str, marker: Option<&str>| LiveGroup {
            kind: None,
            id: format!("id-{name}"),
            name: name.into(),
            primary_smtp_address: format!("{name}@contoso.com"),
            marker: marker.map(str::to_owned),
            distinguished_name: None,
            members: Vec::new(),
        };
        let p = |app: &str, scope: &str, description: &str| LivePolicy {
            identity: format!("t\\{app}:S-1;id-{scope}"),
            app_id: app.into(),
            scope_id: format!("id-{scope}"),
            scope_name: scope.into(),
            access_right: crate::live::AccessRight::RestrictAccess,
            description: description.into(),
        };
        let mut saved = live(&["a@contoso.com"]);
        saved.groups = vec![g("Kept", Some("m1")), g("Gone", None)];
        saved.policies =
            vec![p("app1", "Kept", "same"), p("app2", "Kept", "old text"), p("app3", "Gone", "x")];
        let mut fresh = live(&["a@contoso.com"]);
        fresh.groups = vec![g("Kept", Some("m2")), g("New", None)];
        fresh.policies =
            vec![p("app1", "Kept", "same"), p("app2", "Kept", "new text"), p("app4", "New", "x")];
        assert_eq!(
            live_changes(&saved, &fresh),
            [
                "group \"Gone\" was removed",
                "the marker of group \"Kept\" changed",
                "group \"New\" was created",
                "the description of the RestrictAccess policy of app app2 on \"Kept\" changed",
                "the RestrictAccess policy of app app3 on \"Gone\" was removed",
                "a RestrictAccess policy of app app4 on \"New\" was created",
            ]
        );
        assert!(live_changes(&saved, &saved).is_empty());
    }
}
