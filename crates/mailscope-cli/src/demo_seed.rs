//! The Contoso demo tenant, compiled into the binary.
//!
//! `mailscope apply policies/contoso.yaml --tenant sim:demo.json` must work
//! with nothing but the binary and the example file: a released binary runs
//! outside this repository, where `policies/contoso.tenant.yaml` and the PEM
//! files it points at do not exist. The seed and its test-only credentials
//! (the operator app's certificate, the federated issuer's public key) are
//! therefore embedded with `include_str!`.
//!
//! The emulator loads seeds from files and resolves their PEM paths against
//! the seed's directory, so the embedded files are written to a fresh private
//! directory in the same relative layout as in the repository, loaded, and the
//! directory removed again. Nothing in it is secret: every credential in the
//! seed is a test-only value that exists only in the emulator.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The seed's path relative to the repository root; also what `--seed`
/// defaults to in messages.
pub(crate) const SEED_PATH: &str = "policies/contoso.tenant.yaml";

/// Every embedded file, at its path relative to the repository root. The
/// seed refers to the PEM files as `../crates/mailscope-sim/testdata/…`.
const FILES: &[(&str, &str)] = &[
    (SEED_PATH, include_str!("../../../policies/contoso.tenant.yaml")),
    (
        "crates/mailscope-sim/testdata/operator.cert.pem",
        include_str!("../../mailscope-sim/testdata/operator.cert.pem"),
    ),
    (
        "crates/mailscope-sim/testdata/federated-issuer.pub.pem",
        include_str!("../../mailscope-sim/testdata/federated-issuer.pub.pem"),
    ),
];

/// The embedded seed written out for the emulator to load; the directory is
/// removed on drop, once the emulator has read the seed into its state.
pub(crate) struct MaterializedSeed {
    dir: PathBuf,
}

impl MaterializedSeed {
    /// Writes the embedded files into a new directory under the system
    /// temporary directory. `create_dir` (not `create_dir_all`) refuses a
    /// directory or link someone else planted under the same name.
    pub(crate) fn write() -> anyhow::Result<MaterializedSeed> {
        let base = std::env::temp_dir();
        let mut attempt = 0u32;
        let dir = loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            let dir = base.join(format!("mailscope-demo-seed-{}-{nanos}-{attempt}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("cannot create a directory for the embedded demo seed in {}", base.display())
                    });
                }
            }
        };
        let seed = MaterializedSeed { dir };
        for (rel, text) in FILES {
            let path = seed.dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(seed)
    }

    /// The seed file to hand to the emulator.
    pub(crate) fn seed_file(&self) -> PathBuf {
        self.dir.join(SEED_PATH)
    }

    /// The directory holding the written files.
    #[cfg(test)]
    fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for MaterializedSeed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a state file must be seeded and no seed was given: then the
/// embedded demo seed is used.
pub(crate) fn needed(seed: Option<&Path>, state: Option<&Path>) -> bool {
    seed.is_none() && state.is_none_or(|s| !s.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_seed_loads_with_its_credentials_and_is_cleaned_up() {
        let seed = MaterializedSeed::write().expect("write the embedded seed");
        let dir = seed.dir().to_path_buf();
        let sim = mailscope_sim::Sim::from_seed_file(seed.seed_file()).expect("the embedded seed loads");
        let creds = sim.operator_credentials().expect("the demo seed names an operator app");
        assert_eq!(creds.client_id, "6e1c9a52-3b7d-4f08-9c2e-5a4b3c2d1e0f");
        // The PEM files came along: the operator app has its certificate.
        let tenant = sim.tenant();
        let operator = tenant.app(&creds.client_id).expect("operator app");
        assert_eq!(operator.certificates.len(), 1);
        drop(seed);
        assert!(!dir.exists(), "the written seed is removed");
    }
}
