//! Certificate credentials: the signing key and thumbprints behind a
//! `private_key_jwt` client assertion, loaded from a PEM file (certificate and
//! unencrypted key) or a PKCS#12 file (`.pfx`/`.p12`, password-protected, as
//! Windows, Key Vault and `openssl pkcs12 -export` produce them).
//!
//! PKCS#12 files are decoded by `p12-keystore` (pure Rust): the PBES2 scheme
//! (AES-256-CBC with PBKDF2-HMAC-SHA256) that OpenSSL 3 and current Windows
//! write by default, and the legacy PBES1 schemes (3DES, RC2-40 with SHA-1)
//! of older Windows exports. The MAC is checked first, so a wrong password is
//! told apart from a broken file.

use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use sha1::Digest as _;

use crate::credentials::CredentialError;
use crate::secret::Secret;

/// Signature scheme of the certificate client assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssertionAlgorithm {
    /// `alg: PS256` with header `x5t#S256` (SHA-256 thumbprint); what the
    /// current Entra documentation specifies. The default.
    #[default]
    Ps256,
    /// `alg: RS256` with header `x5t` (SHA-1 thumbprint); the older form,
    /// still accepted by Entra.
    Rs256,
}

/// A certificate credential: signing key and thumbprints.
#[derive(Clone)]
pub struct CertificateCredential {
    key: EncodingKey,
    x5t: String,
    x5t_s256: String,
    algorithm: AssertionAlgorithm,
}

impl fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("key", &"[redacted]")
            .field("x5t#S256", &self.x5t_s256)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl CertificateCredential {
    /// Parses a PEM holding a certificate and its unencrypted RSA private key
    /// (PKCS#1 or PKCS#8). `variable` names the setting, for errors.
    pub fn from_pem(pem: &[u8], variable: &str, path: &Path) -> Result<Self, CredentialError> {
        let bad = |reason: &str| CredentialError::BadPem {
            variable: variable.to_owned(),
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let text = String::from_utf8_lossy(pem);
        if text.contains("ENCRYPTED PRIVATE KEY") {
            return Err(bad("the private key is encrypted; export it unencrypted (openssl pkcs12 -nodes)"));
        }
        let cert = CertificateDer::pem_slice_iter(pem)
            .next()
            .ok_or_else(|| bad("no CERTIFICATE block found"))?
            .map_err(|e| bad(&format!("malformed CERTIFICATE block ({e})")))?;
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|_| bad("no unencrypted private key block (RSA PRIVATE KEY or PRIVATE KEY) found"))?;
        let key = match &key {
            PrivateKeyDer::Pkcs1(k) => EncodingKey::from_rsa_der(k.secret_pkcs1_der()),
            PrivateKeyDer::Pkcs8(k) => pkcs8_rsa_key(k.secret_pkcs8_der()).map_err(&bad)?,
            _ => return Err(bad("the private key is not an RSA key (Entra needs RSA)")),
        };
        Self::finish(key, cert.as_ref()).map_err(bad)
    }

    /// Parses a PKCS#12 file (`.pfx`/`.p12`) holding a certificate and its
    /// RSA private key, protected by `password` (empty for none).
    /// `variable` names the setting, for errors.
    pub fn from_pkcs12(
        der: &[u8],
        password: &Secret,
        variable: &str,
        path: &Path,
    ) -> Result<Self, CredentialError> {
        let bad = |reason: &str| CredentialError::BadPem {
            variable: variable.to_owned(),
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password.expose(),
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .map_err(|e| match e {
            // The MAC over the content is keyed by the password: a mismatch
            // is a wrong password (or a file altered after export).
            p12_keystore::error::Error::MacError(_) => CredentialError::WrongPassword {
                variable: variable.to_owned(),
                path: path.to_owned(),
            },
            // Never echo the library's text: it may quote decrypted bytes.
            p12_keystore::error::Error::UnsupportedEncryptionScheme | p12_keystore::error::Error::UnsupportedMacAlgorithm => {
                bad("the PKCS#12 file uses an encryption scheme that is not supported; re-export it with AES-256 (openssl pkcs12 -export, or Windows' AES256-SHA256 option)")
            }
            _ => bad("not a readable PKCS#12 (.pfx/.p12) file"),
        })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| bad("the PKCS#12 file holds no private key with its certificate"))?;
        let cert =
            chain.certs().first().ok_or_else(|| bad("the PKCS#12 file holds no certificate for its key"))?;
        let key = pkcs8_rsa_key(chain.key().as_der()).map_err(&bad)?;
        Self::finish(key, cert.as_der()).map_err(bad)
    }

    /// Thumbprints the certificate and checks that the key signs.
    fn finish(key: EncodingKey, cert_der: &[u8]) -> Result<Self, &'static str> {
        let cred = Self {
            key,
            x5t: URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(cert_der)),
            x5t_s256: URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(cert_der)),
            algorithm: AssertionAlgorithm::default(),
        };
        // Sign once now, so that a broken key fails at configuration time and
        // names the variable, rather than at the first token request.
        cred.sign("probe", "probe").map_err(|_| "the private key cannot sign (is it a valid RSA key?)")?;
        Ok(cred)
    }

    /// Selects the assertion algorithm.
    #[must_use]
    pub fn with_algorithm(mut self, algorithm: AssertionAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The assertion algorithm in use.
    pub fn algorithm(&self) -> AssertionAlgorithm {
        self.algorithm
    }

    /// Base64url SHA-256 thumbprint of the certificate (`x5t#S256`).
    pub fn thumbprint_sha256(&self) -> &str {
        &self.x5t_s256
    }

    /// Base64url SHA-1 thumbprint of the certificate (`x5t`).
    pub fn thumbprint_sha1(&self) -> &str {
        &self.x5t
    }

    /// Builds a signed client assertion for `audience` (the token endpoint).
    pub(crate) fn sign(&self, client_id: &str, audience: &str) -> Result<Secret, String> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: u64,
            iat: u64,
            exp: u64,
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut header = match self.algorithm {
            AssertionAlgorithm::Ps256 => {
                let mut h = Header::new(Algorithm::PS256);
                h.x5t_s256 = Some(self.x5t_s256.clone());
                h
            }
            AssertionAlgorithm::Rs256 => {
                let mut h = Header::new(Algorithm::RS256);
                h.x5t = Some(self.x5t.clone());
                h
            }
        };
        header.typ = Some("JWT".to_owned());
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            // Entra tolerates small clock skew; back-dating nbf by a minute
            // keeps a runner whose clock is slightly ahead from being refused.
            nbf: now.saturating_sub(60),
            iat: now,
            exp: now + 600,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map(Secret::from).map_err(|e| e.to_string())
    }
}

/// An RSA signing key from PKCS#8 DER (jsonwebtoken reads PKCS#8 only as PEM).
fn pkcs8_rsa_key(der: &[u8]) -> Result<EncodingKey, &'static str> {
    let pem = to_pem("PRIVATE KEY", der);
    EncodingKey::from_rsa_pem(pem.as_bytes())
        .map_err(|_| "the private key is not an RSA key (Entra needs RSA)")
}

fn to_pem(tag: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {tag}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(tag);
    out.push_str("-----\n");
    out
}

/// Whether `path`/`bytes` is a PKCS#12 file: by extension, or by content
/// (DER starts with a SEQUENCE tag, PEM with text).
pub(crate) fn is_pkcs12(path: &Path, bytes: &[u8]) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    matches!(ext.as_deref(), Some("pfx" | "p12")) || bytes.first() == Some(&0x30)
}

/// Loads a certificate credential from a PEM or PKCS#12 file. A password
/// is only meaningful for PKCS#12: with a PEM file it is an error (mailscope
/// does not decrypt encrypted PEM keys).
pub(crate) fn load_certificate(
    variable: &str,
    path: &Path,
    password: Option<(&'static str, &Secret)>,
) -> Result<CertificateCredential, CredentialError> {
    let bytes = std::fs::read(path).map_err(|source| CredentialError::UnreadableFile {
        variable: variable.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    if is_pkcs12(path, &bytes) {
        let empty = Secret::new("");
        CertificateCredential::from_pkcs12(&bytes, password.map_or(&empty, |(_, p)| p), variable, path)
    } else if let Some((password_variable, _)) = password {
        Err(CredentialError::PasswordNotSupported { variable: password_variable })
    } else {
        CertificateCredential::from_pem(&bytes, variable, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "11111111-2222-4333-8444-555555555555";

    #[test]
    fn certificate_assertion_headers_and_claims() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mailscope-sim/testdata");
        let (Ok(cert), Ok(key)) = (
            std::fs::read_to_string(dir.join("operator.cert.pem")),
            std::fs::read_to_string(dir.join("operator.key.pem")),
        ) else {
            return; // The emulator's test keys are not there (partial checkout).
        };
        let pem = format!("{cert}{key}");
        let c = CertificateCredential::from_pem(pem.as_bytes(), "X", Path::new("x.pem")).unwrap();
        let decode = |jwt: &str, part: usize| -> serde_json::Value {
            let seg = jwt.split('.').nth(part).unwrap();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
        };
        let jwt = c.sign(CLIENT, "https://login.example/t/oauth2/v2.0/token").unwrap();
        let h = decode(jwt.expose(), 0);
        assert_eq!(h["alg"], "PS256");
        assert_eq!(h["typ"], "JWT");
        assert_eq!(h["x5t#S256"], c.thumbprint_sha256());
        assert!(h.get("x5t").is_none());
        let claims = decode(jwt.expose(), 1);
        assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
        assert_eq!(claims["iss"], CLIENT);
        assert_eq!(claims["sub"], CLIENT);
        assert!(claims["exp"].as_u64().unwrap() > claims["nbf"].as_u64().unwrap());
        let rs = c.clone().with_algorithm(AssertionAlgorithm::Rs256).sign(CLIENT, "a").unwrap();
        let h = decode(rs.expose(), 0);
        assert_eq!(h["alg"], "RS256");
        assert_eq!(h["x5t"], c.thumbprint_sha1());
        assert!(!format!("{c:?}").contains("PRIVATE"));
        // Key only, or certificate only: a clear error.
        for partial in [cert.as_str(), key.as_str()] {
            let e = CertificateCredential::from_pem(
                partial.as_bytes(),
                "AZURE_CLIENT_CERTIFICATE_PATH",
                Path::new("p"),
            )
            .unwrap_err();
            assert!(e.to_string().contains("AZURE_CLIENT_CERTIFICATE_PATH"), "{e}");
        }
    }

    fn testdata(name: &str) -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mailscope-sim/testdata").join(name)
    }

    #[test]
    fn pkcs12_modern_and_legacy_with_the_right_password() {
        let pem = [testdata("operator.cert.pem"), testdata("operator.key.pem")]
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("test key"))
            .collect::<String>();
        let from_pem = CertificateCredential::from_pem(pem.as_bytes(), "X", Path::new("x.pem")).unwrap();
        let password = Secret::new("test-only-pfx-password");
        for name in ["operator.aes256.pfx", "operator.legacy.pfx"] {
            let path = testdata(name);
            let cred = load_certificate("AZURE_CLIENT_CERTIFICATE_PATH", &path, Some(("P", &password)))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            // The same certificate as the PEM: Entra will find it registered.
            assert_eq!(cred.thumbprint_sha256(), from_pem.thumbprint_sha256(), "{name}");
            assert_eq!(cred.thumbprint_sha1(), from_pem.thumbprint_sha1(), "{name}");
            let jwt = cred.sign(CLIENT, "aud").unwrap();
            assert_eq!(jwt.expose().split('.').count(), 3);
            assert!(!format!("{cred:?}").contains("PRIVATE"));
        }
    }

    #[test]
    fn pkcs12_wrong_or_missing_password_is_named() {
        let path = testdata("operator.aes256.pfx");
        for password in [Some(Secret::new("not-the-password")), None] {
            let err = load_certificate(
                "AZURE_CLIENT_CERTIFICATE_PATH",
                &path,
                password.as_ref().map(|p| ("AZURE_CLIENT_CERTIFICATE_PASSWORD", p)),
            )
            .unwrap_err();
            assert!(matches!(err, CredentialError::WrongPassword { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains("AZURE_CLIENT_CERTIFICATE_PASSWORD") && text.contains("operator.aes256.pfx"),
                "{text}"
            );
            assert!(!text.contains("not-the-password"), "{text}");
        }
        // A password for a PEM file is a mistake, said so.
        let err = load_certificate(
            "AZURE_CLIENT_CERTIFICATE_PATH",
            &testdata("operator.cert.pem"),
            Some(("AZURE_CLIENT_CERTIFICATE_PASSWORD", &Secret::new("pw"))),
        )
        .unwrap_err();
        assert!(matches!(err, CredentialError::PasswordNotSupported { .. }), "{err}");
        // Garbage named .pfx: not a PKCS#12 file, not a password problem.
        let dir = std::env::temp_dir().join(format!("mailscope-exo-pfx-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pfx");
        std::fs::write(&junk, b"\x30\x03junk").unwrap();
        let err = load_certificate("AZURE_CLIENT_CERTIFICATE_PATH", &junk, None).unwrap_err();
        assert!(matches!(err, CredentialError::BadPem { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
