//! File work the window asks for, done off its UI thread: keeping the last session's bundle in the state folder
//! (coalesced: one build at a time, the newest wanted), exporting a bundle and its report to Downloads, and opening
//! a bundle to replay. The window hands over small values ([`WizardRecord`], a path) and gets a [`Report`] back. It
//! must not decide what the files mean: building and reading them stays in `diagnostics` and `launch`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Report, Shell};
use crate::diagnostics::bundle::{Bundle, Environment, LAST_SESSION, WizardRecord};
use crate::diagnostics::journal::Journal;
use crate::launch::{Launch, LaunchOptions};

/// The last-session bundle waiting to be built, and whether a builder task is running.
#[derive(Debug, Default)]
pub(super) struct LastSession {
    state: Mutex<LastSessionState>,
}

#[derive(Debug, Default)]
struct LastSessionState {
    wanted: Option<(WizardRecord, Environment)>,
    building: bool,
}

impl LastSession {
    /// Takes the newest wanted bundle, or marks the builder stopped when there is none.
    fn next(&self) -> Option<(WizardRecord, Environment)> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let job = state.wanted.take();
        state.building = job.is_some();
        job
    }
}

impl Shell {
    /// Keeps the session's bundle (sanitized, details not hidden) in the state folder for `diagnostics export`.
    /// Built off the UI thread; while one is being built, only the newest request waits for its turn.
    pub fn keep_last_session(&self, record: WizardRecord, environment: Environment) {
        let Some(dir) = self.services.as_ref().and_then(|s| s.env.state_dir.clone()) else {
            return;
        };
        {
            let mut state = self.last_session.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.wanted = Some((record, environment));
            if state.building {
                return;
            }
            state.building = true;
        }
        let (last_session, journal, state_files) =
            (self.last_session.clone(), self.journal.clone(), self.state_files.clone());
        self.runtime.spawn(async move {
            while let Some((record, environment)) = last_session.next() {
                let journal = journal.clone();
                let built = tokio::task::spawn_blocking(move || {
                    serde_json::to_vec_pretty(&build(&journal, &record, environment))
                })
                .await;
                match built {
                    Ok(Ok(json)) => state_files.put(dir.join(LAST_SESSION), json),
                    Ok(Err(e)) => tracing::warn!("could not serialize the diagnostics: {e}"),
                    Err(e) => tracing::warn!("could not build the diagnostics: {e}"),
                }
            }
        });
    }

    /// Saves the session's bundle (customer details hidden if asked) and its report to the Downloads folder;
    /// reports [`Report::Saved`] for each file.
    pub fn export_diagnostics(&self, record: WizardRecord, environment: Environment, hide_customer_details: bool) {
        let journal = self.journal.clone();
        let files = self.runtime.spawn_blocking(move || {
            let bundle = build(&journal, &record, environment);
            let bundle = if hide_customer_details { bundle.hidden() } else { bundle };
            let stem = format!("mspbots-setup-diagnostics-{}", bundle.environment.created_unix);
            let json = serde_json::to_string_pretty(&bundle).map_err(|e| e.to_string())?;
            Ok::<_, String>([(format!("{stem}.json"), json), (format!("{stem}.html"), bundle.html())])
        });
        let shell = self.handle();
        self.runtime.spawn(async move {
            match files.await.map_err(|e| e.to_string()).and_then(|r| r) {
                Ok(files) => {
                    for (name, text) in files {
                        shell.save_file(name, text);
                    }
                }
                Err(problem) => shell.report(Report::Saved(Err(problem))).await,
            }
        });
    }

    /// Reads a bundle and makes a replay of it off the UI thread; reports [`Report::BundleOpened`].
    pub fn open_bundle(&self, path: PathBuf) {
        let opened = self.runtime.spawn_blocking(move || {
            let options = LaunchOptions { demo: true, reproduce: Some(path), ..LaunchOptions::default() };
            Launch::resolve(&options).map(Box::new).map_err(|problem| crate::launch::one_line(&problem))
        });
        let shell = self.handle();
        self.runtime.spawn(async move {
            let result = opened.await.unwrap_or_else(|e| Err(e.to_string()));
            shell.report(Report::BundleOpened(result)).await;
        });
    }
}

/// The bundle of the journal as it is now.
fn build(journal: &Journal, record: &WizardRecord, environment: Environment) -> Bundle {
    Bundle::from_record(record, &journal.snapshot(), environment)
}

/// What background work needs of the shell to save files and report.
#[derive(Clone)]
pub(super) struct ShellHandle {
    pub(super) runtime: tokio::runtime::Handle,
    pub(super) sender: tokio::sync::mpsc::Sender<Report>,
    pub(super) waker: Arc<dyn super::Waker>,
    pub(super) fallback_dir: PathBuf,
}

impl ShellHandle {
    async fn report(&self, report: Report) {
        if self.sender.send(report).await.is_ok() {
            self.waker.wake();
        }
    }

    /// Writes `text` as `name` in the Downloads folder (else the fallback folder); reports [`Report::Saved`].
    pub(super) fn save_file(&self, name: String, text: String) {
        let handle = self.clone();
        self.runtime.spawn(async move {
            let fallback = handle.fallback_dir.clone();
            let result = tokio::task::spawn_blocking(move || save_to_downloads(&fallback, &name, &text))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
            handle.report(Report::Saved(result)).await;
        });
    }

    /// Looks for PowerShell; reports [`Report::Console`].
    pub(super) fn find_console(&self) {
        let handle = self.clone();
        self.runtime.spawn(async move {
            let found = tokio::task::spawn_blocking(super::console::Console::find).await.unwrap_or(None);
            handle.report(Report::Console(found)).await;
        });
    }

    /// Saves the script like [`ShellHandle::save_file`], then starts it in `console`; reports
    /// [`Report::ScriptStarted`].
    pub(super) fn run_script(&self, console: super::console::Console, name: String, text: String) {
        let handle = self.clone();
        self.runtime.spawn(async move {
            let fallback = handle.fallback_dir.clone();
            let result = tokio::task::spawn_blocking(move || {
                let path = save_to_downloads(&fallback, &name, &text)?;
                console.start(&path).map(|()| path)
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
            handle.report(Report::ScriptStarted(result)).await;
        });
    }
}

/// Writes `text` as `name` in the Downloads folder (else `fallback`), and says where.
fn save_to_downloads(fallback: &std::path::Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let dir = crate::fsutil::downloads_dir_or(fallback);
    let path = dir.join(name);
    std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)).map(|()| path).map_err(|e| e.to_string())
}

/// The file the board of `partner_tenant` is saved in: its customers, relationships and the user's groups as last
/// read (no token, no customer user data), so the board opens with them next time and says how old they are.
fn board_file(dir: &std::path::Path, partner_tenant: &str) -> Option<PathBuf> {
    // A tenant id is a GUID; anything else is not a file name to build.
    crate::profile::is_guid(partner_tenant)
        .then(|| dir.join(format!("partner-board-{}.json", partner_tenant.to_ascii_lowercase())))
}

impl super::Services {
    /// The board last saved for `partner_tenant`, if there is one that can be read (one that cannot is left as it
    /// is and said in the log; the live read replaces it).
    pub(super) async fn saved_board(&self, partner_tenant: &str) -> Option<crate::wizard::customer_checks::SavedBoard> {
        let path = board_file(self.env.state_dir.as_deref()?, partner_tenant)?;
        let shown = path.display().to_string();
        let bytes = match tokio::task::spawn_blocking(move || std::fs::read(&path)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Ok(Err(e)) => {
                tracing::warn!("cannot read the saved board {shown}: {e}");
                return None;
            }
            Err(_) => return None,
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| tracing::warn!("the saved board {shown} is unreadable, ignored: {e}"))
            .ok()
    }
}

impl super::Shell {
    /// Keeps the board and its checks for `partner_tenant` in the state folder, through the one state-file writer
    /// (in order, off the UI thread). Does nothing without a state folder or for a partner tenant that is no GUID.
    pub(super) fn keep_board(&self, partner_tenant: &str, saved: &crate::wizard::customer_checks::SavedBoard) {
        let Some(dir) = self.services.as_ref().and_then(|s| s.env.state_dir.clone()) else { return };
        let Some(path) = board_file(&dir, partner_tenant) else { return };
        match serde_json::to_vec_pretty(saved) {
            Ok(json) => self.state_files.put(path, json),
            Err(e) => tracing::warn!("cannot save the board: {e}"),
        }
    }
}
