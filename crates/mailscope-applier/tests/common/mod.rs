//! An in-memory tenant with Exchange's semantics, and fixtures.
//!
//! [`FakeTenant`] holds groups and policies behind a mutex, answers each
//! call after a short sleep (so concurrent steps overlap), records the order
//! of call starts and ends and the most calls seen in flight, and can fail
//! chosen calls (before or after applying them, like a lost reply).

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mailscope_applier::{StepOutcome, Tenant, TenantError, TenantErrorKind};
use mailscope_planner::{
    AccessRight, Action, EntraServicePrincipal, LiveGroup, LiveManagementScope, LivePolicy,
    LiveRoleAssignment, LiveServicePrincipal, LiveSnapshot, PermissionGrant, Plan, PlanOptions, Recipient,
    SNAPSHOT_FORMAT_VERSION,
};
use mailscope_spec::DesiredState;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn contoso_desired() -> DesiredState {
    let path = workspace_root().join("policies/contoso.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    mailscope_spec::parse(&text, "policies/contoso.yaml").unwrap()
}

pub fn contoso_snapshot() -> LiveSnapshot {
    let path = workspace_root().join("policies/contoso.snapshot.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn plan(desired: &DesiredState, live: &LiveSnapshot, options: &PlanOptions) -> Plan {
    mailscope_planner::plan(desired, live, options).expect("plans")
}

/// The key a fake call records; the same for a plan step's action.
pub fn op_key(action: &Action) -> String {
    match action {
        Action::CreateGroup { group, .. } => format!("create_group {}", group.to_lowercase()),
        Action::MarkGroup { group, .. } => format!("mark_group {}", group.to_lowercase()),
        Action::AddMember { group, member } => {
            format!("add_member {} {}", group.to_lowercase(), member.to_lowercase())
        }
        Action::RemoveMember { group, member } => {
            format!("remove_member {} {}", group.to_lowercase(), member.to_lowercase())
        }
        Action::ReplaceMembers { group, .. } => format!("replace_members {}", group.to_lowercase()),
        Action::CreatePolicy { app_id, group, access_right, .. } => {
            format!("create_policy {} {} {access_right:?}", app_id.to_lowercase(), group.to_lowercase())
        }
        Action::SetPolicyDescription { identity, .. } => {
            format!("set_policy_description {}", identity.to_lowercase())
        }
        Action::RemovePolicy { identity, .. } => format!("remove_policy {}", identity.to_lowercase()),
        Action::RemoveGroup { group } => format!("remove_group {}", group.to_lowercase()),
        other => format!("rbac {other:?}"),
    }
}

/// Start or end of one call, in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start(String),
    End(String),
}

/// When an injected failure strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Nothing changes; the call fails.
    Before,
    /// The change is made, then the reply is "lost".
    After,
}

#[derive(Debug, Clone)]
struct Group {
    id: String,
    name: String,
    address: String,
    marker: Option<String>,
    /// `DistinguishedName`, what a scope filter names.
    dn: String,
    /// Lower-case address -> address as first written.
    members: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct State {
    tenant: String,
    /// Lower-case name -> group.
    groups: BTreeMap<String, Group>,
    policies: BTreeMap<String, LivePolicy>,
    recipients: Vec<Recipient>,
    /// RBAC for Applications, with Exchange's rules: a pointer must name the
    /// app's Entra service principal, an assignment needs its pointer and
    /// scope, a scope in use cannot be removed, removing a pointer removes
    /// its assignments.
    entra: Vec<EntraServicePrincipal>,
    pointers: Vec<LiveServicePrincipal>,
    scopes: Vec<LiveManagementScope>,
    assignments: Vec<LiveRoleAssignment>,
    grants: Vec<PermissionGrant>,
    grants_read: bool,
}

/// Ids are unique across fakes: a fake built from another's snapshot must
/// not hand out an id the first one already used.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(100);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::SeqCst)
}

type FailRule = Box<dyn Fn(&str) -> Option<FailMode> + Send + Sync>;

pub struct FakeTenant {
    state: Mutex<State>,
    delay: Duration,
    fail: Mutex<Option<FailRule>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: AtomicUsize,
    log: Mutex<Vec<Event>>,
    /// What `concurrency_limit` answers (an adaptive client's limit).
    limit: Mutex<Option<usize>>,
}

impl FakeTenant {
    pub fn from_snapshot(live: &LiveSnapshot) -> Self {
        let mut groups = BTreeMap::new();
        for g in &live.groups {
            groups.insert(
                g.name.to_lowercase(),
                Group {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    address: g.primary_smtp_address.clone(),
                    marker: g.marker.clone(),
                    dn: g.distinguished_name.clone().unwrap_or_else(|| group_dn(&g.name)),
                    members: g.members.iter().map(|m| (m.to_lowercase(), m.clone())).collect(),
                },
            );
        }
        let policies = live.policies.iter().map(|p| (p.identity.to_lowercase(), p.clone())).collect();
        Self {
            state: Mutex::new(State {
                tenant: live.tenant.clone().unwrap_or_else(|| "tenant".into()),
                groups,
                policies,
                recipients: live.recipients.clone(),
                entra: live.service_principals.clone(),
                pointers: live.exchange_service_principals.clone(),
                scopes: live.management_scopes.clone(),
                assignments: live.role_assignments.clone(),
                grants: live.grants.clone(),
                grants_read: live.grants_read,
            }),
            delay: Duration::from_millis(2),
            fail: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            limit: Mutex::new(None),
        }
    }

    /// Makes the tenant report an adaptive concurrency limit.
    pub fn set_limit(&self, limit: Option<usize>) {
        *self.limit.lock().unwrap() = limit;
    }

    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Fails every call whose key the rule picks.
    pub fn fail_when(&self, rule: impl Fn(&str) -> Option<FailMode> + Send + Sync + 'static) {
        *self.fail.lock().unwrap() = Some(Box::new(rule));
    }

    pub fn clear_failures(&self) {
        *self.fail.lock().unwrap() = None;
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn log(&self) -> Vec<Event> {
        self.log.lock().unwrap().clone()
    }

    /// Keys of the calls in start order.
    pub fn started(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter_map(|e| match e {
                Event::Start(k) => Some(k),
                Event::End(_) => None,
            })
            .collect()
    }

    pub fn reset_log(&self) {
        self.log.lock().unwrap().clear();
        self.max_in_flight.store(0, Ordering::SeqCst);
    }

    /// The state as the snapshot reader would return it.
    pub fn snapshot(&self) -> LiveSnapshot {
        let s = self.state.lock().unwrap();
        LiveSnapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            tenant: Some(s.tenant.clone()),
            groups: s
                .groups
                .values()
                .map(|g| LiveGroup {
                    kind: None,
                    id: g.id.clone(),
                    name: g.name.clone(),
                    primary_smtp_address: g.address.clone(),
                    marker: g.marker.clone(),
                    distinguished_name: Some(g.dn.clone()),
                    members: g.members.values().cloned().collect(),
                })
                .collect(),
            policies: s.policies.values().cloned().collect(),
            recipients: s.recipients.clone(),
            grants: s.grants.clone(),
            grants_read: s.grants_read,
            service_principals: s.entra.clone(),
            exchange_service_principals: s.pointers.clone(),
            management_scopes: s.scopes.clone(),
            role_assignments: s.assignments.clone(),
        }
    }

    /// One call: recorded as started (and counted in flight) when the
    /// applier creates the future, i.e. when it decides to start the step;
    /// then a sleep, then `change` under the lock unless a failure strikes
    /// first, then recorded as ended.
    fn call<'a>(
        &'a self,
        key: String,
        change: impl FnOnce(&mut State) -> Result<StepOutcome, TenantError> + Send + 'a,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send + 'a {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        self.log.lock().unwrap().push(Event::Start(key.clone()));
        async move {
            tokio::time::sleep(self.delay).await;
            let fail = self.fail.lock().unwrap().as_ref().and_then(|rule| rule(&key));
            let result = match fail {
                Some(FailMode::Before) => {
                    Err(TenantError::new(TenantErrorKind::Transient, format!("injected failure: {key}")))
                }
                Some(FailMode::After) => {
                    let _ = change(&mut self.state.lock().unwrap());
                    Err(TenantError::new(TenantErrorKind::Transient, format!("injected lost reply: {key}"))
                        .maybe_applied(true))
                }
                None => change(&mut self.state.lock().unwrap()),
            };
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.log.lock().unwrap().push(Event::End(key));
            result
        }
    }
}

fn not_found(what: &str) -> TenantError {
    TenantError::new(
        TenantErrorKind::NotFound,
        format!("The operation couldn't be performed because object '{what}' couldn't be found."),
    )
}

/// The fake's `DistinguishedName` of a group.
pub fn group_dn(name: &str) -> String {
    format!("CN={name},OU=fake.onmicrosoft.com,DC=FAKE")
}

fn conflict(what: String) -> TenantError {
    TenantError::new(TenantErrorKind::Conflict, what)
}

/// The filter a scope step writes, with the DNs the groups have now.
fn render(s: &State, filter: &mailscope_planner::ScopeFilter) -> Result<String, TenantError> {
    let dn = |g: &Option<String>| match g {
        Some(name) => {
            s.groups.get(&name.to_lowercase()).map(|g| Some(g.dn.clone())).ok_or_else(|| not_found(name))
        }
        None => Ok(None),
    };
    let (allow, deny) = (dn(&filter.allow_group)?, dn(&filter.deny_group)?);
    filter
        .to_opath(allow.as_deref(), deny.as_deref())
        .ok_or_else(|| TenantError::new(TenantErrorKind::Invalid, "a scope over every recipient"))
}

/// One RBAC step, with the semantics of `ExoTenant` on Exchange.
fn rbac(s: &mut State, action: &Action) -> Result<StepOutcome, TenantError> {
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match action {
        Action::CreateServicePrincipal { app_id, object_id, display_name } => {
            if let Some(p) = s.pointers.iter().find(|p| eq(&p.app_id, app_id)) {
                return if eq(&p.object_id, object_id) {
                    Ok(StepOutcome::AlreadyDone)
                } else {
                    Err(conflict(format!("a pointer for {app_id} already exists")))
                };
            }
            if !s.entra.iter().any(|e| eq(&e.app_id, app_id) && eq(&e.object_id, object_id)) {
                return Err(not_found(object_id));
            }
            s.pointers.push(LiveServicePrincipal {
                app_id: app_id.clone(),
                object_id: object_id.clone(),
                display_name: display_name.clone(),
            });
            Ok(StepOutcome::Done)
        }
        Action::RemoveServicePrincipal { app_id } => {
            let before = s.pointers.len();
            s.pointers.retain(|p| !eq(&p.app_id, app_id));
            if s.pointers.len() == before {
                return Ok(StepOutcome::AlreadyDone);
            }
            s.assignments.retain(|a| !eq(&a.app_id, app_id));
            Ok(StepOutcome::Done)
        }
        Action::CreateManagementScope { name, filter, .. } => {
            let text = render(s, filter)?;
            if let Some(m) = s.scopes.iter().find(|m| eq(&m.name, name)) {
                return if m.filter == text {
                    Ok(StepOutcome::AlreadyDone)
                } else {
                    Err(conflict(format!("scope {name} already exists with another filter")))
                };
            }
            s.scopes.push(LiveManagementScope { name: name.clone(), filter: text });
            Ok(StepOutcome::Done)
        }
        Action::SetManagementScope { name, filter, .. } => {
            let text = render(s, filter)?;
            let m = s.scopes.iter_mut().find(|m| eq(&m.name, name)).ok_or_else(|| not_found(name))?;
            m.filter = text;
            Ok(StepOutcome::Done)
        }
        Action::RemoveManagementScope { name, .. } => {
            if s.assignments.iter().any(|a| a.scope.as_deref().is_some_and(|x| eq(x, name))) {
                return Err(TenantError::new(TenantErrorKind::Other, format!("scope {name} is in use")));
            }
            let before = s.scopes.len();
            s.scopes.retain(|m| !eq(&m.name, name));
            Ok(if s.scopes.len() == before { StepOutcome::AlreadyDone } else { StepOutcome::Done })
        }
        Action::CreateRoleAssignment { name, app_id, permission, scope } => {
            let role = format!("Application {permission}");
            if let Some(a) = s.assignments.iter().find(|a| eq(&a.name, name)) {
                return if eq(&a.app_id, app_id)
                    && eq(&a.role, &role)
                    && a.scope.as_deref().is_some_and(|x| eq(x, scope))
                {
                    Ok(StepOutcome::AlreadyDone)
                } else {
                    Err(conflict(format!("assignment {name} already exists")))
                };
            }
            if !s.pointers.iter().any(|p| eq(&p.app_id, app_id)) {
                return Err(not_found(app_id));
            }
            if !s.scopes.iter().any(|m| eq(&m.name, scope)) {
                return Err(not_found(scope));
            }
            s.assignments.push(LiveRoleAssignment {
                name: name.clone(),
                app_id: app_id.clone(),
                role,
                scope: Some(scope.clone()),
            });
            Ok(StepOutcome::Done)
        }
        Action::RemoveRoleAssignment { name, .. } => {
            let before = s.assignments.len();
            s.assignments.retain(|a| !eq(&a.name, name));
            Ok(if s.assignments.len() == before { StepOutcome::AlreadyDone } else { StepOutcome::Done })
        }
        Action::RemoveEntraGrant { grant_id, resource_id, .. } => {
            let before = s.grants.len();
            s.grants.retain(|g| {
                !(g.id.as_deref().is_some_and(|x| eq(x, grant_id))
                    && g.resource_id.as_deref().is_some_and(|x| eq(x, resource_id)))
            });
            Ok(if s.grants.len() == before { StepOutcome::AlreadyDone } else { StepOutcome::Done })
        }
        other => Err(TenantError::new(TenantErrorKind::Invalid, format!("not an RBAC step: {other:?}"))),
    }
}

fn is_recipient(s: &State, address: &str) -> bool {
    s.recipients.iter().any(|r| r.address.eq_ignore_ascii_case(address))
}

impl Tenant for FakeTenant {
    fn concurrency_limit(&self) -> Option<usize> {
        *self.limit.lock().unwrap()
    }

    fn create_group(
        &self,
        group: &str,
        alias: &str,
        marker: &str,
        members: &[String],
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::CreateGroup {
            group: group.into(),
            alias: alias.into(),
            marker: marker.into(),
            members: Vec::new(),
        });
        let (group, alias, marker, members) =
            (group.to_owned(), alias.to_owned(), marker.to_owned(), members.to_vec());
        self.call(key, move |s| {
            // As Exchange: an unknown member fails the whole call.
            if let Some(m) = members.iter().find(|m| !is_recipient(s, m)) {
                return Err(not_found(m));
            }
            if let Some(g) = s.groups.get_mut(&group.to_lowercase()) {
                // Same decision as ExoTenant: ours, or unmarked with our name.
                return match g.marker.as_deref() {
                    Some(m) if m == marker => Ok(StepOutcome::AlreadyDone),
                    None | Some("") => {
                        g.marker = Some(marker);
                        Ok(StepOutcome::AlreadyDone)
                    }
                    Some(_) => Err(TenantError::new(
                        TenantErrorKind::Conflict,
                        format!("group {group} has another owner"),
                    )),
                };
            }
            let id = format!("00000000-0000-4000-8000-{:012}", next_id());
            let address = format!("{alias}@{}", s.tenant);
            let dn = group_dn(&group);
            s.groups.insert(
                group.to_lowercase(),
                Group {
                    id,
                    name: group,
                    address,
                    marker: Some(marker),
                    dn,
                    members: members.into_iter().map(|m| (m.to_lowercase(), m)).collect(),
                },
            );
            Ok(StepOutcome::Done)
        })
    }

    fn replace_members(
        &self,
        group: &str,
        members: &[String],
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::ReplaceMembers {
            group: group.into(),
            members: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
        });
        let (group, members) = (group.to_owned(), members.to_vec());
        self.call(key, move |s| {
            if let Some(m) = members.iter().find(|m| !is_recipient(s, m)) {
                return Err(not_found(m));
            }
            let g = s.groups.get_mut(&group.to_lowercase()).ok_or_else(|| not_found(&group))?;
            g.members = members.into_iter().map(|m| (m.to_lowercase(), m)).collect();
            Ok(StepOutcome::Done)
        })
    }

    fn mark_group(
        &self,
        group: &str,
        marker: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::MarkGroup { group: group.into(), marker: marker.into() });
        let (group, marker) = (group.to_owned(), marker.to_owned());
        self.call(key, move |s| {
            let g = s.groups.get_mut(&group.to_lowercase()).ok_or_else(|| not_found(&group))?;
            g.marker = Some(marker);
            Ok(StepOutcome::Done)
        })
    }

    fn add_member(
        &self,
        group: &str,
        member: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::AddMember { group: group.into(), member: member.into() });
        let (group, member) = (group.to_owned(), member.to_owned());
        self.call(key, move |s| {
            if !is_recipient(s, &member) {
                return Err(not_found(&member));
            }
            let g = s.groups.get_mut(&group.to_lowercase()).ok_or_else(|| not_found(&group))?;
            if g.members.contains_key(&member.to_lowercase()) {
                return Ok(StepOutcome::AlreadyDone);
            }
            g.members.insert(member.to_lowercase(), member);
            Ok(StepOutcome::Done)
        })
    }

    fn remove_member(
        &self,
        group: &str,
        member: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::RemoveMember { group: group.into(), member: member.into() });
        let (group, member) = (group.to_owned(), member.to_owned());
        self.call(key, move |s| {
            let removed = s
                .groups
                .get_mut(&group.to_lowercase())
                .and_then(|g| g.members.remove(&member.to_lowercase()));
            Ok(if removed.is_some() { StepOutcome::Done } else { StepOutcome::AlreadyDone })
        })
    }

    fn create_policy(
        &self,
        app_id: &str,
        group: &str,
        access_right: AccessRight,
        description: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::CreatePolicy {
            app_id: app_id.into(),
            group: group.into(),
            access_right,
            description: description.into(),
        });
        let (app_id, group, description) = (app_id.to_owned(), group.to_owned(), description.to_owned());
        self.call(key, move |s| {
            let g = s.groups.get(&group.to_lowercase()).ok_or_else(|| not_found(&group))?.clone();
            if let Some(p) = s.policies.values().find(|p| {
                p.app_id.eq_ignore_ascii_case(&app_id)
                    && p.access_right == access_right
                    && p.scope_id.eq_ignore_ascii_case(&g.id)
            }) {
                return if p.description == description {
                    Ok(StepOutcome::AlreadyDone)
                } else {
                    Err(TenantError::new(TenantErrorKind::Conflict, "an unmanaged policy already exists"))
                };
            }
            let identity = format!("{}\\{app_id}:S-1-5-21-9-{};{}", s.tenant, next_id(), g.id);
            s.policies.insert(
                identity.to_lowercase(),
                LivePolicy {
                    identity,
                    app_id,
                    scope_id: g.id,
                    scope_name: g.name,
                    access_right,
                    description,
                },
            );
            Ok(StepOutcome::Done)
        })
    }

    fn set_policy_description(
        &self,
        identity: &str,
        description: &str,
    ) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::SetPolicyDescription {
            identity: identity.into(),
            group: String::new(),
            description: description.into(),
        });
        let (identity, description) = (identity.to_owned(), description.to_owned());
        self.call(key, move |s| {
            let p = s.policies.get_mut(&identity.to_lowercase()).ok_or_else(|| not_found(&identity))?;
            p.description = description;
            Ok(StepOutcome::Done)
        })
    }

    fn remove_policy(&self, identity: &str) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::RemovePolicy {
            identity: identity.into(),
            app_id: String::new(),
            scope: String::new(),
            access_right: AccessRight::RestrictAccess,
        });
        let identity = identity.to_owned();
        self.call(key, move |s| match s.policies.remove(&identity.to_lowercase()) {
            Some(_) => Ok(StepOutcome::Done),
            None => Ok(StepOutcome::AlreadyDone),
        })
    }

    fn remove_group(&self, group: &str) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let key = op_key(&Action::RemoveGroup { group: group.into() });
        let group = group.to_owned();
        self.call(key, move |s| match s.groups.remove(&group.to_lowercase()) {
            Some(_) => Ok(StepOutcome::Done),
            None => Ok(StepOutcome::AlreadyDone),
        })
    }
    fn rbac_step(&self, action: &Action) -> impl Future<Output = Result<StepOutcome, TenantError>> + Send {
        let action = action.clone();
        self.call(op_key(&action), move |s| rbac(s, &action))
    }
}

/// A journal sink the test can read back.
#[derive(Clone, Default)]
pub struct SharedBuf(pub std::sync::Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).expect("journal line is JSON")).collect()
    }
}

/// Set of (app id, wave) pairs, for order checks.
pub fn apps_of(plan: &Plan) -> BTreeSet<String> {
    plan.steps.iter().map(|s| s.app_id.clone()).collect()
}
