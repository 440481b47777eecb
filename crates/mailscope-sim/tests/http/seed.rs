//! The shipped Contoso seed matches the live snapshot exactly.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::*;

fn lower_set(v: &Value) -> BTreeSet<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_ascii_lowercase()).collect()
}

#[test]
fn contoso_seed_matches_snapshot() {
    let snap: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("policies/contoso.snapshot.json")).unwrap(),
    )
    .unwrap();
    let sim = mailscope_sim::Sim::from_seed_file(seed_path()).unwrap();
    let t = sim.tenant();
    assert_eq!(t.id, TENANT_ID);

    let groups: Vec<_> = t.recipients.iter().filter(|r| r.kind.is_group()).collect();
    assert_eq!(groups.len(), snap["groups"].as_array().unwrap().len());
    for g in snap["groups"].as_array().unwrap() {
        let r = t
            .recipients
            .iter()
            .find(|r| r.external_directory_object_id == g["id"].as_str().unwrap())
            .unwrap();
        assert_eq!(r.name, g["name"].as_str().unwrap());
        assert_eq!(r.primary_smtp_address, g["primarySmtpAddress"].as_str().unwrap());
        assert_eq!(r.custom_attribute(15), g["marker"].as_str().unwrap_or(""));
        let members: BTreeSet<String> = r
            .members
            .iter()
            .map(|m| t.recipient_by_object_id(m).unwrap().primary_smtp_address.to_ascii_lowercase())
            .collect();
        assert_eq!(members, lower_set(&g["members"]), "{}", r.name);
    }

    assert_eq!(t.policies.len(), snap["policies"].as_array().unwrap().len());
    for (p, s) in t.policies.iter().zip(snap["policies"].as_array().unwrap()) {
        assert_eq!(p.identity(&t.id), s["identity"].as_str().unwrap());
        assert_eq!(p.app_id, s["appId"].as_str().unwrap());
        assert_eq!(p.scope_object_id, s["scopeId"].as_str().unwrap());
        assert_eq!(p.scope_name, s["scopeName"].as_str().unwrap());
        assert_eq!(p.access_right.as_str(), s["accessRight"].as_str().unwrap());
        assert_eq!(p.description, s["description"].as_str().unwrap());
    }

    let mailboxes: BTreeSet<(String, String)> = t
        .recipients
        .iter()
        .filter(|r| !r.kind.is_group())
        .map(|r| (r.primary_smtp_address.clone(), r.kind.details().to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> = snap["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["address"].as_str().unwrap().to_owned(), r["kind"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(mailboxes, expected);

    // Every app of the desired state and of the snapshot holds Graph Mail.Send.
    let desired = std::fs::read_to_string(workspace().join("policies/contoso.yaml")).unwrap();
    let mut app_ids: Vec<String> =
        desired.lines().filter_map(|l| l.trim().strip_prefix("appId: ").map(str::to_owned)).collect();
    app_ids
        .extend(snap["policies"].as_array().unwrap().iter().map(|p| p["appId"].as_str().unwrap().to_owned()));
    assert!(app_ids.len() >= 8);
    for id in app_ids {
        let app = t.app(&id).unwrap_or_else(|| panic!("app {id} missing"));
        assert!(app.graph_permissions.iter().any(|p| p == "Mail.Send"), "{id}");
    }
    let op = sim.operator_credentials().unwrap();
    assert_eq!(op.client_id, OPERATOR);
    assert_eq!(op.client_secret, OPERATOR_SECRET);
    let app = t.app(OPERATOR).unwrap();
    assert_eq!(app.certificates.len(), 1);
    assert_eq!(app.federated_credentials.len(), 1);
    assert_eq!(app.directory_roles, ["Exchange Administrator"]);
}
