//! Running the binary, making scratch directories, and serving an emulator
//! in the test process (through `mailscope-testkit`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mailscope_testkit::{Emulator, Seed, contoso};

/// The repository root (for `policies/…`).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// A fresh scratch directory under the target directory, removed on drop.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("mailscope-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The outcome of one run.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A command for the binary, run from the repository root with a clean
/// environment for the variables mailscope reads.
pub(crate) fn mailscope(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailscope"));
    cmd.args(args).current_dir(root()).env("NO_COLOR", "1");
    for var in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_FEDERATED_TOKEN_FILE",
        "AZURE_CLIENT_CERTIFICATE_PASSWORD",
        // Credentials a CI runner or an Azure host injects (docs/auth.md).
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "MAILSCOPE_USE_MANAGED_IDENTITY",
        "MAILSCOPE_IMDS_URL",
        "MAILSCOPE_LOGIN_URL",
        "MAILSCOPE_EXO_URL",
        "MAILSCOPE_GRAPH_URL",
        // The CI context a pull-request comment names.
        "MAILSCOPE_COMMIT",
        "MAILSCOPE_RUN_URL",
        "GITHUB_SHA",
        "GITHUB_RUN_ID",
        "BUILD_SOURCEVERSION",
        "BUILD_BUILDID",
        "CI_COMMIT_SHA",
        "CI_JOB_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub(crate) fn run(args: &[&str]) -> Run {
    mailscope(args).output().expect("run mailscope").into()
}

/// Serves, on `rt`, a persistent Contoso emulator whose state file is `state`
/// (created from `policies/contoso.tenant.yaml` when missing). The test holds
/// the emulator to inject faults and read its logs while the binary, reaching
/// it through the real-tenant code path, works.
pub(crate) fn serve_contoso_state(rt: &tokio::runtime::Runtime, state: PathBuf) -> Emulator {
    rt.block_on(Emulator::start(&Seed::State { state, seed: contoso::seed_path() }))
}
