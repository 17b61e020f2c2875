//! Small file-system helpers: the app's private state folder and atomic, owner-only writes.
//!
//! Environment variables are read once, in `main`, through [`state_dir_from_env`]; nothing else here reads them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The environment variable that puts the state folder elsewhere.
pub const STATE_DIR_VAR: &str = "MSPBOTS_SETUP_STATE_DIR";

/// Writes `bytes` to `path` atomically (write a temporary file beside it, flush, rename), readable by the
/// owner only on Unix.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Unique per write, so two writes of the same file (two threads, or two runs) never share a temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    // On Windows another process reading the file (an antivirus, an indexer, support's viewer) can make the
    // replacing rename fail for a moment (a sharing violation, as under Wine while a test reads it): try again
    // briefly before giving up, and leave no temporary file behind either way.
    let mut tries = 0;
    loop {
        match std::fs::rename(&tmp, path) {
            Ok(()) => return Ok(()),
            Err(e) if tries < 10 && e.kind() != std::io::ErrorKind::NotFound => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => {
                let _gone = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
    }
}

/// Removes `path` and any temporary file a write of it left behind (a process killed mid-write leaves one).
pub fn remove_with_leftovers(path: &Path) -> std::io::Result<()> {
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        let prefix = format!(".{name}.tmp-");
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
                let _gone_already = std::fs::remove_file(entry.path());
            }
        }
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Where files the person asked to save go: their Downloads folder when there is one, else `fallback`. The OS says
/// where it is (`dirs`): Windows' Known Folder (moved or redirected to OneDrive too), the XDG user directory on
/// Linux (`Téléchargements` in French), `~/Downloads` on macOS.
pub fn downloads_dir_or(fallback: &Path) -> PathBuf {
    dirs::download_dir().filter(|d| d.is_dir()).unwrap_or_else(|| fallback.to_owned())
}

/// The app's state folder from the environment: `$MSPBOTS_SETUP_STATE_DIR` when set (on every OS: support keeps a
/// reproduction's state apart, tests give each run its own), else `%LOCALAPPDATA%\MSPbots\Setup` on Windows,
/// `~/Library/Application Support/ai.mspbots.setup` on macOS, `$XDG_STATE_HOME/mspbots-setup` (or
/// `~/.local/state/mspbots-setup`) elsewhere; a folder under the temp dir when none of these is set.
pub fn state_dir_from_env() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var(STATE_DIR_VAR) {
        return dir;
    }
    if cfg!(windows) {
        if let Some(base) = var("LOCALAPPDATA") {
            return base.join("MSPbots").join("Setup");
        }
    } else if cfg!(target_os = "macos") {
        if let Some(home) = var("HOME") {
            return home.join("Library").join("Application Support").join(crate::APP_ID);
        }
    } else if let Some(state) = var("XDG_STATE_HOME") {
        return state.join("mspbots-setup");
    } else if let Some(home) = var("HOME") {
        return home.join(".local").join("state").join("mspbots-setup");
    }
    std::env::temp_dir().join("mspbots-setup")
}

#[cfg(test)]
mod tests {
    #[test]
    fn removing_a_file_removes_what_killed_writes_left() {
        let dir = std::env::temp_dir().join(format!("mspbots-fsutil-leftovers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("progress.json");
        super::write_atomic_private(&file, b"{}").unwrap();
        std::fs::write(dir.join(".progress.json.tmp-123-4"), b"half").unwrap();
        std::fs::write(dir.join("other.json"), b"kept").unwrap();
        super::remove_with_leftovers(&file).unwrap();
        super::remove_with_leftovers(&file).unwrap();
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["other.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    use super::*;

    #[test]
    fn atomic_write_replaces_content_and_is_private() {
        let dir = std::env::temp_dir().join(format!("mspbots-fsutil-{}", std::process::id()));
        let file = dir.join("x.bin");
        write_atomic_private(&file, b"one").unwrap();
        write_atomic_private(&file, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left behind");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
