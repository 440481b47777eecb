"""Microsoft's own client libraries against the emulator over HTTPS.

MSAL for Python and azure-identity, unmodified, acquire app-only tokens from
`mailscope sim serve --tls` (secret and certificate), then plain HTTPS calls
use them on InvokeCommand and Graph. A wrong secret and an expired
certificate must surface the AADSTS codes the real service sends
(7000215, 700027). Run by tests/compat/run.sh, which starts the emulator
with tests/compat/compat.tenant.yaml and sets:

  SIM_BASE            https://127.0.0.1:PORT
  REQUESTS_CA_BUNDLE  the emulator's CA (`mailscope sim ca`)

Prints one line per check and closes with "compat: N passed, N failed".
"""

import hashlib
import os
import sys
import traceback
from pathlib import Path

import certifi
import msal
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives import serialization

HERE = Path(__file__).resolve().parent
TESTDATA = HERE.parent.parent / "crates" / "mailscope-sim" / "testdata"

BASE = os.environ["SIM_BASE"].rstrip("/")
TENANT = "0c0ffee0-7e57-4c0a-9a11-c0a11b5e7e57"
AUTHORITY = f"{BASE}/{TENANT}"
OPERATOR = "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f"
SECRET = "sim-compat-secret-test-only"
EXPIRED_APP = "e7e7e7e7-0000-4000-8000-00000000e7e7"
EXO_SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def thumbprint(cert_pem: bytes) -> str:
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - the x5t thumbprint is SHA-1 by definition


def msal_app(client_id: str, credential) -> msal.ConfidentialClientApplication:
    # A custom authority: MSAL only knows Microsoft's hosts, so instance
    # discovery is turned off, as for any authority MSAL does not know.
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=AUTHORITY,
        instance_discovery=False,
    )


def cert_credential(stem: str) -> dict:
    cert = (TESTDATA / f"{stem}.cert.pem").read_bytes()
    return {"private_key": (TESTDATA / f"{stem}.key.pem").read_text(), "thumbprint": thumbprint(cert)}


def expired_credential() -> dict:
    cert = (HERE / "testdata" / "expired.cert.pem").read_bytes()
    return {
        "private_key": (HERE / "testdata" / "expired.key.pem").read_text(),
        "thumbprint": thumbprint(cert),
    }


def bundle(stem_dir: Path, stem: str, out: Path) -> str:
    """azure-identity's CertificateCredential reads key and certificate from one PEM file."""
    out.write_bytes((stem_dir / f"{stem}.key.pem").read_bytes() + (stem_dir / f"{stem}.cert.pem").read_bytes())
    return str(out)


def token_of(result: dict) -> str:
    assert "access_token" in result, f"no token: {result.get('error')}: {result.get('error_description')}"
    assert result.get("token_type", "").lower() == "bearer", result.get("token_type")
    return result["access_token"]


def invoke_command(token: str) -> None:
    response = requests.post(
        f"{BASE}/adminapi/beta/{TENANT}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": "Get-DistributionGroup", "Parameters": {}}},
        headers={
            "Authorization": f"Bearer {token}",
            "X-AnchorMailbox": f"UPN:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}",
        },
        timeout=30,
    )
    assert response.status_code == 200, f"InvokeCommand: {response.status_code} {response.text[:300]}"
    names = [g["Name"] for g in response.json()["value"]]
    assert names == ["Billing-Readers"], names


def graph_call(token: str) -> None:
    response = requests.get(
        f"{BASE}/v1.0/servicePrincipals(appId='{OPERATOR}')",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, f"Graph: {response.status_code} {response.text[:300]}"
    assert response.json()["appId"] == OPERATOR, response.json()


def expect_msal_error(result: dict, code: int, error: str, reason: str) -> None:
    assert "access_token" not in result, "a token was issued"
    assert result.get("error") == error, result
    assert code in result.get("error_codes", []), result
    assert f"AADSTS{code}:" in result.get("error_description", ""), result
    assert reason in result["error_description"], result
    for field in ("trace_id", "correlation_id", "timestamp"):
        assert result.get(field), f"{field} missing: {result}"


def expect_identity_error(credential, code: int, reason: str) -> None:
    try:
        credential.get_token(EXO_SCOPE)
    except ClientAuthenticationError as e:
        assert f"AADSTS{code}" in str(e), str(e)
        assert reason in str(e), str(e)
        return
    raise AssertionError("a token was issued")


# -- checks ---------------------------------------------------------------------------------


def check_tls_is_verified() -> None:
    """The emulator's CA is needed: the public roots alone refuse its certificate."""
    try:
        requests.get(f"{BASE}/_sim/health", verify=certifi.where(), timeout=10)
    except requests.exceptions.SSLError:
        pass
    else:
        raise AssertionError("the emulator's certificate verified without its CA")
    assert requests.get(f"{BASE}/_sim/health", timeout=10).status_code == 200


def check_discovery() -> None:
    for path in ("v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"):
        doc = requests.get(f"{AUTHORITY}/{path}", timeout=10).json()
        assert doc["token_endpoint"].startswith(f"{BASE}/{TENANT}/oauth2/"), doc
    response = requests.get(f"{BASE}/nosuchtenant.example/v2.0/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 400 and 90002 in response.json()["error_codes"], response.text
    discovery = requests.get(
        f"{BASE}/common/discovery/instance",
        params={"api-version": "1.1", "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize"},
        timeout=10,
    ).json()
    assert discovery["tenant_discovery_endpoint"] == f"{AUTHORITY}/v2.0/.well-known/openid-configuration", discovery
    assert requests.get(f"{AUTHORITY}/discovery/v2.0/keys", timeout=10).json() == {"keys": []}


def check_msal_secret() -> None:
    app = msal_app(OPERATOR, SECRET)
    invoke_command(token_of(app.acquire_token_for_client(scopes=[EXO_SCOPE])))
    graph_call(token_of(app.acquire_token_for_client(scopes=[GRAPH_SCOPE])))


def check_msal_certificate() -> None:
    app = msal_app(OPERATOR, cert_credential("operator"))
    invoke_command(token_of(app.acquire_token_for_client(scopes=[EXO_SCOPE])))
    graph_call(token_of(app.acquire_token_for_client(scopes=[GRAPH_SCOPE])))


def check_msal_wrong_secret() -> None:
    result = msal_app(OPERATOR, "not-the-secret").acquire_token_for_client(scopes=[EXO_SCOPE])
    expect_msal_error(result, 7000215, "invalid_client", "Invalid client secret")


def check_msal_expired_certificate() -> None:
    result = msal_app(EXPIRED_APP, expired_credential()).acquire_token_for_client(scopes=[EXO_SCOPE])
    expect_msal_error(result, 700027, "invalid_client", "The key used is expired")


def identity_kwargs() -> dict:
    # azure-identity appends the tenant to `authority` (or AZURE_AUTHORITY_HOST).
    return {"authority": BASE, "disable_instance_discovery": True}


def check_identity_secret() -> None:
    credential = ClientSecretCredential(TENANT, OPERATOR, SECRET, **identity_kwargs())
    invoke_command(credential.get_token(EXO_SCOPE).token)
    graph_call(credential.get_token(GRAPH_SCOPE).token)


def check_identity_certificate(tmp: Path) -> None:
    path = bundle(TESTDATA, "operator", tmp / "operator.pem")
    credential = CertificateCredential(TENANT, OPERATOR, certificate_path=path, **identity_kwargs())
    invoke_command(credential.get_token(EXO_SCOPE).token)
    graph_call(credential.get_token(GRAPH_SCOPE).token)


def check_identity_wrong_secret() -> None:
    credential = ClientSecretCredential(TENANT, OPERATOR, "not-the-secret", **identity_kwargs())
    expect_identity_error(credential, 7000215, "Invalid client secret")


def check_identity_expired_certificate(tmp: Path) -> None:
    path = bundle(HERE / "testdata", "expired", tmp / "expired.pem")
    credential = CertificateCredential(TENANT, EXPIRED_APP, certificate_path=path, **identity_kwargs())
    expect_identity_error(credential, 700027, "The key used is expired")


def main() -> int:
    tmp = Path(os.environ.get("COMPAT_TMP", "/tmp"))
    checks = [
        ("TLS verified against the emulator's CA only", check_tls_is_verified),
        ("discovery documents and Entra error shape", check_discovery),
        ("msal client secret -> InvokeCommand + Graph", check_msal_secret),
        ("msal certificate -> InvokeCommand + Graph", check_msal_certificate),
        ("msal wrong secret -> AADSTS7000215", check_msal_wrong_secret),
        ("msal expired certificate -> AADSTS700027", check_msal_expired_certificate),
        ("azure-identity ClientSecretCredential -> InvokeCommand + Graph", check_identity_secret),
        ("azure-identity CertificateCredential -> InvokeCommand + Graph", lambda: check_identity_certificate(tmp)),
        ("azure-identity wrong secret -> AADSTS7000215", check_identity_wrong_secret),
        ("azure-identity expired certificate -> AADSTS700027", lambda: check_identity_expired_certificate(tmp)),
    ]
    passed = failed = 0
    for name, check in checks:
        try:
            check()
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"compat: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
