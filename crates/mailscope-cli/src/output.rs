//! Where output goes: stdout, files written atomically, colour choice,
//! and bounded reads of the files a command is given.
//!
//! Owns: the process's byte-level I/O; no command decides anything here.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Set by `--no-color`, once, before any output.
static NO_COLOR_FLAG: AtomicBool = AtomicBool::new(false);

/// `--no-color`: no colour anywhere for the rest of the process.
pub(crate) fn disable_color() {
    NO_COLOR_FLAG.store(true, Ordering::Relaxed);
}

/// Colour is allowed at all: neither `--no-color` nor a non-empty
/// `NO_COLOR` (<https://no-color.org>).
pub(crate) fn color_allowed() -> bool {
    !NO_COLOR_FLAG.load(Ordering::Relaxed) && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Colour on stdout: allowed, and stdout is a terminal.
pub(crate) fn use_color() -> bool {
    color_allowed() && std::io::stdout().is_terminal()
}

/// Colour in the logs (stderr): allowed, and stderr is a terminal, so a
/// log file or a CI log gets no escape codes.
pub(crate) fn log_color() -> bool {
    color_allowed() && std::io::stderr().is_terminal()
}

/// Writes a file through a temporary sibling and a rename, so a reader (or
/// a crash) never sees half of it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
    })
}

/// Reads a text file, naming it in the error.
pub(crate) fn read_text(path: &Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    // Only regular files: a FIFO would block the open until a writer comes,
    // and a device (a symlink to /dev/zero) would never end.
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        meta.is_file(),
        "{} is not a regular file (a directory, pipe or device); give the path of a file",
        path.display()
    );
    // The cap is enforced on the bytes read, not on the size the metadata
    // claims: the file may change between the two.
    let cap = mailscope_spec::MAX_FILE_BYTES as u64 * 64;
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        bytes.len() as u64 <= cap,
        "{} is larger than {cap} bytes; that is too large to be a mailscope file",
        path.display()
    );
    String::from_utf8(bytes).with_context(|| format!("cannot read {} as UTF-8 text", path.display()))
}

/// Prints the warnings a valid desired file earns (`mailscope_spec::warnings`)
/// to stderr, located like errors.
pub(crate) fn print_spec_warnings(desired: &mailscope_spec::DesiredState) {
    for w in mailscope_spec::warnings(desired) {
        eprintln!("warning: {}:{}: {}", desired.origin, w.at, w.message);
        if let Some(help) = &w.help {
            eprintln!("  help: {help}");
        }
    }
}
