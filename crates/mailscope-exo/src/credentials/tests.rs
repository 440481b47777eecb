//! Unit tests of credential selection (beside `credentials.rs` to keep it short).

use super::*;
use std::collections::HashMap;

const TENANT: &str = "8f3c2b1a-4d5e-4f6a-9b8c-7d6e5f4a3b2c";
const CLIENT: &str = "11111111-2222-4333-8444-555555555555";

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}

#[test]
fn secret_from_env() {
    let c = ClientCredentials::from_lookup(lookup(&[
        (ENV_TENANT_ID, TENANT),
        (ENV_CLIENT_ID, CLIENT),
        (ENV_CLIENT_SECRET, "s3cr3t-value"),
    ]))
    .unwrap();
    assert_eq!(c.credential.kind(), "client_secret");
    assert!(!format!("{c:?}").contains("s3cr3t-value"));
}

#[test]
fn misconfigurations_name_the_variable() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], ENV_TENANT_ID),
        (vec![(ENV_TENANT_ID, TENANT)], ENV_CLIENT_ID),
        (vec![(ENV_TENANT_ID, TENANT), (ENV_CLIENT_ID, "not-a-guid")], ENV_CLIENT_ID),
        (vec![(ENV_TENANT_ID, "bad tenant/"), (ENV_CLIENT_ID, CLIENT)], ENV_TENANT_ID),
        (vec![(ENV_TENANT_ID, TENANT), (ENV_CLIENT_ID, CLIENT)], ENV_CLIENT_SECRET),
        (
            vec![
                (ENV_TENANT_ID, TENANT),
                (ENV_CLIENT_ID, CLIENT),
                (ENV_CLIENT_SECRET, "x"),
                (ENV_FEDERATED_TOKEN_FILE, "/nope"),
            ],
            ENV_FEDERATED_TOKEN_FILE,
        ),
        (
            vec![
                (ENV_TENANT_ID, TENANT),
                (ENV_CLIENT_ID, CLIENT),
                (ENV_FEDERATED_TOKEN_FILE, "/definitely/not/here"),
            ],
            ENV_FEDERATED_TOKEN_FILE,
        ),
        (
            vec![
                (ENV_TENANT_ID, TENANT),
                (ENV_CLIENT_ID, CLIENT),
                (ENV_CLIENT_CERTIFICATE_PATH, "/definitely/not/here.pem"),
            ],
            ENV_CLIENT_CERTIFICATE_PATH,
        ),
        (
            vec![
                (ENV_TENANT_ID, TENANT),
                (ENV_CLIENT_ID, CLIENT),
                (ENV_CLIENT_CERTIFICATE_PATH, "/definitely/not/here.pfx"),
                (ENV_CLIENT_CERTIFICATE_PASSWORD, "pw"),
            ],
            ENV_CLIENT_CERTIFICATE_PATH,
        ),
    ];
    for (vars, variable) in cases {
        let err = ClientCredentials::from_lookup(lookup(&vars)).unwrap_err();
        assert!(err.to_string().contains(variable), "{vars:?}: {err} should name {variable}");
    }
}

#[test]
fn bad_pem_names_the_variable() {
    let dir = std::env::temp_dir().join(format!("mailscope-exo-pem-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.pem");
    std::fs::write(&p, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    let err = ClientCredentials::from_lookup(lookup(&[
        (ENV_TENANT_ID, "contoso.onmicrosoft.com"),
        (ENV_CLIENT_ID, CLIENT),
        (ENV_CLIENT_CERTIFICATE_PATH, p.to_str().unwrap()),
    ]))
    .unwrap_err();
    assert!(matches!(err, CredentialError::BadPem { .. }), "{err}");
    assert!(err.to_string().contains(ENV_CLIENT_CERTIFICATE_PATH));
    let empty = dir.join("empty.jwt");
    std::fs::write(&empty, "\n").unwrap();
    let err = ClientCredentials::from_lookup(lookup(&[
        (ENV_TENANT_ID, TENANT),
        (ENV_CLIENT_ID, CLIENT),
        (ENV_FEDERATED_TOKEN_FILE, empty.to_str().unwrap()),
    ]))
    .unwrap_err();
    assert!(matches!(err, CredentialError::EmptyFile { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn kind_of(vars: &[(&str, &str)]) -> Result<ClientCredentials, CredentialError> {
    let mut all = vec![(ENV_TENANT_ID, TENANT)];
    all.extend_from_slice(vars);
    ClientCredentials::from_lookup(lookup(&all))
}

#[test]
fn explicit_credentials_win_over_what_the_platform_injects() {
    let actions =
        [(ENV_ACTIONS_URL, "https://actions.example/idtoken?api-version=2.0"), (ENV_ACTIONS_TOKEN, "rt")];
    let app_service =
        [(ENV_IDENTITY_ENDPOINT, "http://127.0.0.1:41741/msi/token"), (ENV_IDENTITY_HEADER, "hdr")];
    let mut vars = vec![(ENV_CLIENT_ID, CLIENT), (ENV_CLIENT_SECRET, "s")];
    vars.extend_from_slice(&actions);
    vars.extend_from_slice(&app_service);
    assert_eq!(kind_of(&vars).unwrap().credential.kind(), "client_secret");
    // Without an explicit credential: GitHub OIDC, then the App Service identity.
    let mut vars = vec![(ENV_CLIENT_ID, CLIENT)];
    vars.extend_from_slice(&actions);
    vars.extend_from_slice(&app_service);
    assert_eq!(kind_of(&vars).unwrap().credential.kind(), "github_oidc");
    let c = kind_of(&app_service).unwrap();
    let Credential::ManagedIdentity(mi) = &c.credential else { panic!("{c:?}") };
    assert_eq!((mi.kind(), mi.client_id(), c.client_id.as_str()), ("app_service", None, ""));
    let mut vars = vec![(ENV_CLIENT_ID, CLIENT)];
    vars.extend_from_slice(&app_service);
    let c = kind_of(&vars).unwrap();
    let Credential::ManagedIdentity(mi) = &c.credential else { panic!("{c:?}") };
    assert_eq!(mi.client_id(), Some(CLIENT), "AZURE_CLIENT_ID selects a user-assigned identity");
    // GitHub OIDC needs the app's client id; only one of the two runner variables is not OIDC.
    let err = kind_of(&actions).unwrap_err();
    assert!(err.to_string().contains(ENV_CLIENT_ID), "{err}");
    let err = kind_of(&[(ENV_CLIENT_ID, CLIENT), actions[0]]).unwrap_err();
    assert!(matches!(err, CredentialError::NoCredential), "{err}");
    assert!(!format!("{:?}", kind_of(&vars).unwrap()).contains("hdr\""));
}

#[test]
fn managed_identity_on_request() {
    let c = kind_of(&[(ENV_USE_MANAGED_IDENTITY, "true")]).unwrap();
    let Credential::ManagedIdentity(mi) = &c.credential else { panic!("{c:?}") };
    assert_eq!(mi.kind(), "imds");
    let c = kind_of(&[
        (ENV_USE_MANAGED_IDENTITY, "1"),
        (ENV_IDENTITY_ENDPOINT, "http://localhost:42356/msi/token"),
        (ENV_IDENTITY_HEADER, "h"),
    ])
    .unwrap();
    assert_eq!(c.credential.kind(), "managed_identity");
    let err =
        kind_of(&[(ENV_USE_MANAGED_IDENTITY, "true"), (ENV_CLIENT_ID, CLIENT), (ENV_CLIENT_SECRET, "s")])
            .unwrap_err();
    assert!(matches!(err, CredentialError::Conflicting { .. }), "{err}");
    let err = kind_of(&[(ENV_USE_MANAGED_IDENTITY, "ture")]).unwrap_err();
    assert!(err.to_string().contains(ENV_USE_MANAGED_IDENTITY), "{err}");
    // `false` is no request at all.
    let err = kind_of(&[(ENV_USE_MANAGED_IDENTITY, "false"), (ENV_CLIENT_ID, CLIENT)]).unwrap_err();
    assert!(matches!(err, CredentialError::NoCredential), "{err}");
    let err = kind_of(&[(ENV_USE_MANAGED_IDENTITY, "true"), (ENV_IMDS_URL, "http://10.1.2.3")]).unwrap_err();
    assert!(err.to_string().contains(ENV_IMDS_URL), "{err}");
}

#[test]
fn pfx_from_env_with_its_password() {
    let pfx = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../mailscope-sim/testdata/operator.aes256.pfx");
    let pfx = pfx.to_str().unwrap();
    let c = kind_of(&[
        (ENV_CLIENT_ID, CLIENT),
        (ENV_CLIENT_CERTIFICATE_PATH, pfx),
        (ENV_CLIENT_CERTIFICATE_PASSWORD, "test-only-pfx-password"),
    ])
    .unwrap();
    assert_eq!(c.credential.kind(), "certificate");
    let err = kind_of(&[
        (ENV_CLIENT_ID, CLIENT),
        (ENV_CLIENT_CERTIFICATE_PATH, pfx),
        (ENV_CLIENT_CERTIFICATE_PASSWORD, "wrong"),
    ])
    .unwrap_err();
    assert!(matches!(err, CredentialError::WrongPassword { .. }), "{err}");
}
