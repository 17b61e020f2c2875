//! "Run in PowerShell": a script the person saved, started in a PowerShell console window of their own. The
//! console is always visible and runs with the person's own rights: never hidden, never elevated (no `runas`, no
//! `sudo`). Offered only where PowerShell is installed.
//!
//! - Windows: PowerShell 7 (`pwsh.exe`) when installed, else Windows PowerShell (`powershell.exe`, part of
//!   Windows), started in a new console (`CREATE_NEW_CONSOLE`). `-ExecutionPolicy Bypass` applies to that one
//!   process only: Windows clients default to `Restricted`, which refuses any script file.
//! - macOS: `pwsh` (PowerShell 7 is not part of macOS), in a new Terminal window through `osascript`. Apps started
//!   from the Finder get a short `PATH`, so Homebrew's and the installer's folders are looked in too.
//! - Linux (developers' machines): `pwsh` in `x-terminal-emulator`.
//!
//! `-NoExit` keeps the window open on the script's last lines (what the tenant says now) and on any error.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Which operating system's way of opening a console to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Windows,
    MacOs,
    Linux,
}

impl Os {
    /// The one this program runs on.
    pub const fn here() -> Self {
        if cfg!(windows) {
            Self::Windows
        } else if cfg!(target_os = "macos") {
            Self::MacOs
        } else {
            Self::Linux
        }
    }
}

/// A PowerShell found on this machine and the way to show it in a console window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    os: Os,
    /// The PowerShell program.
    pub powershell: PathBuf,
    /// Linux only: the terminal emulator that shows it.
    terminal: Option<PathBuf>,
}

impl Console {
    /// Looks for PowerShell (and, on Linux, a terminal) on this machine: `PATH`, then the usual install folders.
    pub fn find() -> Option<Self> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let system_root = std::env::var_os("SystemRoot").map(PathBuf::from);
        Self::find_in(Os::here(), &path, system_root.as_deref(), Path::is_file)
    }

    /// [`Console::find`] for a given OS, `PATH` and file test (tests give their own).
    pub fn find_in(
        os: Os,
        path: &OsString,
        system_root: Option<&Path>,
        exists: impl Fn(&Path) -> bool,
    ) -> Option<Self> {
        let on_path = |name: &str| std::env::split_paths(path).map(|dir| dir.join(name)).find(|p| exists(p));
        let (names, extra): (&[&str], Vec<PathBuf>) = match os {
            Os::Windows => (
                &["pwsh.exe", "powershell.exe"],
                system_root
                    .map(|root| vec![root.join(r"System32\WindowsPowerShell\v1.0\powershell.exe")])
                    .unwrap_or_default(),
            ),
            Os::MacOs => {
                (&["pwsh"], vec![PathBuf::from("/usr/local/bin/pwsh"), PathBuf::from("/opt/homebrew/bin/pwsh")])
            }
            Os::Linux => (&["pwsh"], vec![PathBuf::from("/usr/bin/pwsh"), PathBuf::from("/snap/bin/pwsh")]),
        };
        let powershell = names.iter().find_map(|n| on_path(n)).or_else(|| extra.into_iter().find(|p| exists(p)))?;
        let terminal = match os {
            Os::Linux => Some(on_path("x-terminal-emulator")?),
            Os::Windows | Os::MacOs => None,
        };
        Some(Self { os, powershell, terminal })
    }

    /// What the button's hover text calls it.
    pub fn name(&self) -> String {
        self.powershell.file_stem().map_or_else(|| "PowerShell".to_owned(), |s| s.to_string_lossy().into_owned())
    }

    /// The command that shows `script` running in a new console window.
    pub fn command(&self, script: &Path) -> Command {
        match self.os {
            Os::Windows => {
                let mut cmd = Command::new(&self.powershell);
                cmd.args(["-NoExit", "-ExecutionPolicy", "Bypass", "-File"]).arg(script);
                #[cfg(windows)]
                {
                    use std::os::windows::process::CommandExt as _;
                    const CREATE_NEW_CONSOLE: u32 = 0x0000_0010;
                    cmd.creation_flags(CREATE_NEW_CONSOLE);
                }
                cmd
            }
            Os::MacOs => {
                let line = format!(
                    "{} -NoExit -File {}",
                    shell_quote(&self.powershell.to_string_lossy()),
                    shell_quote(&script.to_string_lossy())
                );
                let mut cmd = Command::new("osascript");
                cmd.args([
                    "-e",
                    &format!("tell application \"Terminal\" to do script \"{}\"", applescript_escape(&line)),
                    "-e",
                    "tell application \"Terminal\" to activate",
                ]);
                cmd
            }
            Os::Linux => {
                let mut cmd = Command::new(self.terminal.as_deref().unwrap_or(Path::new("x-terminal-emulator")));
                cmd.arg("-e").arg(&self.powershell).args(["-NoExit", "-File"]).arg(script);
                cmd
            }
        }
    }

    /// Starts `script` in a console window; `Ok` once the console's program started.
    pub fn start(&self, script: &Path) -> Result<(), String> {
        let mut cmd = self.command(script);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        cmd.spawn().map(drop).map_err(|e| format!("{}: {e}", self.powershell.display()))
    }
}

/// A POSIX shell word: single-quoted, with each `'` closed, escaped and reopened.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Text inside an AppleScript string literal.
fn applescript_escape(s: &str) -> String {
    s.replace('\\', r"\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    fn path(dirs: &[&str]) -> OsString {
        std::env::join_paths(dirs).unwrap()
    }

    #[test]
    fn windows_prefers_powershell_7_then_windows_powershell_then_its_system_folder() {
        let both = |p: &Path| p.ends_with("pwsh.exe") || p.ends_with("powershell.exe");
        let c = Console::find_in(Os::Windows, &path(&["/w/a", "/w/b"]), None, both).unwrap();
        assert_eq!(c.powershell, Path::new("/w/a/pwsh.exe"));
        let only_windows = |p: &Path| p == Path::new("/w/b/powershell.exe");
        let c = Console::find_in(Os::Windows, &path(&["/w/a", "/w/b"]), None, only_windows).unwrap();
        assert_eq!(c.powershell, Path::new("/w/b/powershell.exe"));
        // Not on PATH: the copy every Windows has.
        let system = Path::new("/win").join(r"System32\WindowsPowerShell\v1.0\powershell.exe");
        let c = Console::find_in(Os::Windows, &path(&["/w/a"]), Some(Path::new("/win")), |p| p == system).unwrap();
        assert_eq!(c.powershell, system);
        assert_eq!(Console::find_in(Os::Windows, &path(&["/w/a"]), None, |_| false), None);
    }

    #[test]
    fn windows_runs_the_script_visible_with_the_policy_bypassed_for_that_process_only() {
        let c = Console::find_in(Os::Windows, &path(&["/w"]), None, |p| p.ends_with("powershell.exe")).unwrap();
        let cmd = c.command(Path::new("/d/Install for everyone.ps1"));
        // Paths compare by component: the test runs on Windows too, where a joined path has a backslash.
        assert_eq!(Path::new(cmd.get_program()), Path::new("/w").join("powershell.exe"));
        assert_eq!(args(&cmd), ["-NoExit", "-ExecutionPolicy", "Bypass", "-File", "/d/Install for everyone.ps1"]);
        assert!(!args(&cmd).iter().any(|a| a.eq_ignore_ascii_case("-WindowStyle") || a.contains("RunAs")));
    }

    #[test]
    fn macos_finds_pwsh_outside_a_finder_path_and_opens_terminal_with_quoted_paths() {
        let c = Console::find_in(Os::MacOs, &path(&["/usr/bin"]), None, |p| p == Path::new("/opt/homebrew/bin/pwsh"))
            .unwrap();
        let cmd = c.command(Path::new("/Users/o'neil/Downloads/a \"b\".ps1"));
        assert_eq!(cmd.get_program(), "osascript");
        let a = args(&cmd);
        assert_eq!(
            a[1],
            r#"tell application "Terminal" to do script "'/opt/homebrew/bin/pwsh' -NoExit -File '/Users/o'\\''neil/Downloads/a \"b\".ps1'""#
        );
        assert_eq!(a[3], r#"tell application "Terminal" to activate"#);
        assert_eq!(Console::find_in(Os::MacOs, &path(&["/usr/bin"]), None, |_| false), None);
    }

    #[test]
    fn linux_needs_both_pwsh_and_a_terminal() {
        let both = |p: &Path| p.ends_with("pwsh") || p.ends_with("x-terminal-emulator");
        let c = Console::find_in(Os::Linux, &path(&["/usr/bin"]), None, both).unwrap();
        let cmd = c.command(Path::new("/tmp/s.ps1"));
        assert_eq!(Path::new(cmd.get_program()), Path::new("/usr/bin").join("x-terminal-emulator"));
        let a = args(&cmd);
        assert_eq!(Path::new(&a[1]), Path::new("/usr/bin").join("pwsh"));
        assert_eq!([&a[0], &a[2], &a[3], &a[4]], ["-e", "-NoExit", "-File", "/tmp/s.ps1"]);
        assert_eq!(Console::find_in(Os::Linux, &path(&["/usr/bin"]), None, |p| p.ends_with("pwsh")), None);
    }
}
