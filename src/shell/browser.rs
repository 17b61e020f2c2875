//! Opening URLs: the [`UrlOpener`] seam between the wizard and whatever shows a web page.
//!
//! The product opens the system browser; headless runs use `$BROWSER` or print the URL; demo scripts and tests
//! use [`FollowingBrowser`], which fetches the page and follows its redirects like a browser whose account is
//! already chosen (the simulator's auto-login).

use std::process::{Command, Stdio};

/// Shows a URL to a person (or a stand-in for one).
pub trait UrlOpener: Send + Sync + std::fmt::Debug + 'static {
    /// Opens `url`. `Ok` means a browser was started, not that anyone saw the page.
    fn open(&self, url: &str) -> Result<(), String>;
}

/// Browsers are given web addresses only (an address from a server, such as a device code's verification page,
/// could otherwise name a local file or a program's URL scheme).
fn web_address(url: &str) -> Result<(), String> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(format!("refusing to open a non-web address: {url}"))
    }
}

/// The system browser (`webbrowser`, http and https only).
#[derive(Debug, Default)]
pub struct SystemBrowser;

impl UrlOpener for SystemBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        web_address(url)?;
        #[expect(clippy::disallowed_methods, reason = "the one place that starts the system browser")]
        webbrowser::open(url).map_err(|e| e.to_string())
    }
}

/// A command given by the user (`$BROWSER` in headless runs), started with the URL as its argument.
#[derive(Debug)]
pub struct CommandBrowser {
    pub program: String,
}

impl UrlOpener for CommandBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        web_address(url)?;
        // `$BROWSER` may be a list (`:` between entries, `;` on Windows where paths hold `:`); use the first
        // entry that starts.
        let mut last = String::from("no browser command given");
        let separator = if cfg!(windows) { ';' } else { ':' };
        for program in self.program.split(separator).filter(|p| !p.trim().is_empty()) {
            let mut parts = program.split_whitespace();
            let Some(exe) = parts.next() else { continue };
            let mut cmd = Command::new(exe);
            cmd.args(parts).arg(url).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
            match cmd.spawn() {
                Ok(_child) => return Ok(()),
                Err(e) => last = format!("{exe}: {e}"),
            }
        }
        Err(last)
    }
}

/// What [`PrintUrl`] prints before the address (tests that play the person look for it).
pub const OPEN_THIS_ADDRESS: &str = "Open this address in a browser: ";

/// Prints the URL for a person to open (headless runs without `$BROWSER`).
#[derive(Debug)]
pub struct PrintUrl {
    /// Where to print: stderr keeps stdout clean for `--json`.
    pub to_stderr: bool,
}

impl UrlOpener for PrintUrl {
    fn open(&self, url: &str) -> Result<(), String> {
        #[expect(clippy::print_stderr, clippy::print_stdout, reason = "printing the URL is this opener's job")]
        if self.to_stderr {
            eprintln!("{OPEN_THIS_ADDRESS}{url}");
        } else {
            println!("{OPEN_THIS_ADDRESS}{url}");
        }
        Ok(())
    }
}

/// Fetches the URL and follows redirects (including to the loopback listener), as a browser would when the
/// identity provider signs in at once. Only useful against the simulator's auto-login or similar test servers.
#[derive(Debug)]
pub struct FollowingBrowser {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl FollowingBrowser {
    /// `http` must follow redirects and trust the test server.
    pub fn new(http: reqwest::Client, runtime: tokio::runtime::Handle) -> Self {
        Self { http, runtime }
    }
}

impl UrlOpener for FollowingBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        let http = self.http.clone();
        let url = url.to_owned();
        self.runtime.spawn(async move {
            if let Err(e) = http.get(&url).send().await {
                {
                    // The URL may be the loopback redirect, carrying the code; reqwest's error names it too.
                    let r = crate::diagnostics::sanitize::Redactor::new(false);
                    tracing::debug!(
                        "following browser stopped at {}: {}",
                        e.url().map_or_else(|| "?".to_owned(), |u| r.url(u.as_str())),
                        r.text(&e.without_url().to_string())
                    );
                }
            }
        });
        Ok(())
    }
}

/// Records URLs instead of opening them (tests), optionally failing like a machine without a browser.
#[derive(Debug, Default)]
pub struct RecordingOpener {
    pub opened: std::sync::Mutex<Vec<String>>,
    pub fail_with: Option<String>,
}

impl UrlOpener for RecordingOpener {
    fn open(&self, url: &str) -> Result<(), String> {
        self.opened.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(url.to_owned());
        match &self.fail_with {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CommandBrowser, UrlOpener as _};

    /// A program every OS has that takes an argument and does nothing with it.
    const HARMLESS: &str = if cfg!(windows) { "cmd /c rem" } else { "true" };
    const SEPARATOR: &str = if cfg!(windows) { ";" } else { ":" };

    #[test]
    fn a_browser_list_uses_the_first_entry_that_starts() {
        let listed = CommandBrowser { program: format!("no-such-browser-here{SEPARATOR}{HARMLESS}") };
        assert_eq!(listed.open("https://example.com/"), Ok(()));
        let missing = CommandBrowser { program: "no-such-browser-here".into() }.open("https://example.com/");
        assert!(missing.is_err_and(|e| e.starts_with("no-such-browser-here: ")));
    }

    #[test]
    fn only_web_addresses_are_opened() {
        let browser = CommandBrowser { program: HARMLESS.into() };
        assert!(browser.open("file:///etc/passwd").is_err());
        assert!(browser.open("javascript:alert(1)").is_err());
    }
}
