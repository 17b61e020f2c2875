//! The second half of step 3: the directory as the vendor's app will see it, loaded page by page in the
//! background, with a readiness summary of what would make the vendor's sync or alerts fail.
//!
//! ```text
//! NotStarted ──(tenant readable)──▶ Loading                       [LoadDirectory]
//! Loading ──DirectoryPage──▶ Loading (users appended, readiness counted)
//! Loading ──DirectoryLoaded(Ok)──▶ Loaded
//! Loading ──DirectoryLoaded(Err)──▶ Failed (users so far kept)
//! Loading ──CancelPreview──▶ Cancelled (users so far kept)        [Abandon]
//! Loaded | Cancelled | Failed ──ReloadPreview──▶ Loading (from the start)  [LoadDirectory]
//! ```

use serde::Serialize;

use super::{Attempt, Effect, Failure, Wizard};

/// A user of the directory, with what the vendor's sync reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryUser {
    pub id: String,
    pub display_name: String,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    /// MSPbots' help center lists it among the synced fields.
    pub department: Option<String>,
    pub manager: Option<ManagerRef>,
    pub enabled: bool,
    pub guest: bool,
}

/// A user's manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagerRef {
    pub id: String,
    pub display_name: String,
}

/// Something that would make the vendor's sync or alerts fail for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gap {
    /// No email: cannot be matched to a PSA contact.
    NoEmail,
    /// No manager: escalation alerts have nobody to go to.
    NoManager,
    NoJobTitle,
    NoDepartment,
    Disabled,
    Guest,
}

impl Gap {
    pub const ALL: [Self; 6] =
        [Self::NoEmail, Self::NoManager, Self::NoJobTitle, Self::NoDepartment, Self::Disabled, Self::Guest];

    pub fn applies(self, u: &DirectoryUser) -> bool {
        match self {
            Self::NoEmail => u.mail.as_deref().is_none_or(str::is_empty),
            Self::NoManager => u.manager.is_none(),
            Self::NoJobTitle => u.job_title.as_deref().is_none_or(|t| t.trim().is_empty()),
            Self::NoDepartment => u.department.as_deref().is_none_or(|d| d.trim().is_empty()),
            Self::Disabled => !u.enabled,
            Self::Guest => u.guest,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NoEmail => "without email",
            Self::NoManager => "without manager",
            Self::NoJobTitle => "without job title",
            Self::NoDepartment => "without department",
            Self::Disabled => "disabled",
            Self::Guest => "guests",
        }
    }

    /// What it means for the vendor's features.
    pub fn consequence(self) -> &'static str {
        match self {
            Self::NoEmail => "cannot be matched to PSA contacts",
            Self::NoManager => "escalation alerts have no manager to notify",
            Self::NoJobTitle => "dashboards and bot triggers by role skip them",
            Self::NoDepartment => "reports and dashboards by department leave them out",
            Self::Disabled => "cannot sign in; synced but inactive",
            Self::Guest => "belong to another organization; usually excluded from PSA mapping",
        }
    }
}

/// Counts over every loaded user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub users: u64,
    pub no_email: u64,
    pub no_manager: u64,
    pub no_job_title: u64,
    pub no_department: u64,
    pub disabled: u64,
    pub guests: u64,
}

impl Readiness {
    fn add(&mut self, u: &DirectoryUser) {
        self.users += 1;
        for gap in Gap::ALL {
            if gap.applies(u) {
                *self.count_mut(gap) += 1;
            }
        }
    }

    fn count_mut(&mut self, gap: Gap) -> &mut u64 {
        match gap {
            Gap::NoEmail => &mut self.no_email,
            Gap::NoManager => &mut self.no_manager,
            Gap::NoJobTitle => &mut self.no_job_title,
            Gap::NoDepartment => &mut self.no_department,
            Gap::Disabled => &mut self.disabled,
            Gap::Guest => &mut self.guests,
        }
    }

    pub fn count(&self, gap: Gap) -> u64 {
        match gap {
            Gap::NoEmail => self.no_email,
            Gap::NoManager => self.no_manager,
            Gap::NoJobTitle => self.no_job_title,
            Gap::NoDepartment => self.no_department,
            Gap::Disabled => self.disabled,
            Gap::Guest => self.guests,
        }
    }
}

/// Where loading stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    NotStarted,
    Loading { attempt: Attempt, pages: u32 },
    Loaded,
    Cancelled,
    Failed(Failure),
}

/// The directory preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub load: Load,
    pub users: Vec<DirectoryUser>,
    /// The directory's size, when Microsoft told it (for the progress bar).
    pub total: Option<u64>,
    pub readiness: Readiness,
}

impl Default for Preview {
    fn default() -> Self {
        Self { load: Load::NotStarted, users: Vec::new(), total: None, readiness: Readiness::default() }
    }
}

impl Preview {
    /// Loaded share in [0, 1], when the total is known.
    pub fn progress(&self) -> Option<f32> {
        let total = self.total.filter(|t| *t > 0)?;
        Some((self.users.len() as f64 / total as f64).min(1.0) as f32)
    }

    pub fn is_loading(&self) -> bool {
        matches!(self.load, Load::Loading { .. })
    }
}

/// What the person can ask of the directory preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PreviewIntent {
    Cancel,
    Reload,
}

/// What the shell reports to this step (`Outcome::route` hands them over; the handler matches them all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PreviewOutcome {
    DirectoryPage { attempt: Attempt, users: Vec<DirectoryUser>, total: Option<u64> },
    DirectoryLoaded { attempt: Attempt, result: Result<(), Failure> },
}

impl Wizard {
    /// Starts loading the directory unless it already started.
    pub(super) fn start_preview_once(&mut self) -> Vec<Effect> {
        if matches!(self.preview.load, Load::NotStarted) { self.start_preview() } else { Vec::new() }
    }

    fn start_preview(&mut self) -> Vec<Effect> {
        let mut effects = self.abandon_preview();
        let attempt = self.new_attempt();
        self.preview = Preview { load: Load::Loading { attempt, pages: 0 }, ..Preview::default() };
        effects.push(Effect::LoadDirectory { attempt });
        effects
    }

    pub(super) fn abandon_preview(&self) -> Vec<Effect> {
        match self.preview.load {
            Load::Loading { attempt, .. } => vec![Effect::Abandon { attempt }],
            _ => Vec::new(),
        }
    }

    pub(super) fn on_preview_intent(&mut self, intent: PreviewIntent) -> Vec<Effect> {
        match (intent, &self.preview.load) {
            (PreviewIntent::Cancel, Load::Loading { .. }) => {
                let effects = self.abandon_preview();
                self.preview.load = Load::Cancelled;
                effects
            }
            (PreviewIntent::Reload, Load::Loaded | Load::Cancelled | Load::Failed(_) | Load::NotStarted)
                if self.verify.checklist.is_some() =>
            {
                self.start_preview()
            }
            // Nothing to cancel, or a load already running, or nothing checked yet: ignored.
            (PreviewIntent::Cancel | PreviewIntent::Reload, _) => Vec::new(),
        }
    }

    pub(super) fn on_preview_outcome(&mut self, outcome: PreviewOutcome) -> Vec<Effect> {
        let Load::Loading { attempt: current, pages } = &mut self.preview.load else {
            return Vec::new();
        };
        match outcome {
            PreviewOutcome::DirectoryPage { attempt, users, total } if attempt == *current => {
                *pages += 1;
                if total.is_some() {
                    self.preview.total = total;
                }
                for u in &users {
                    self.preview.readiness.add(u);
                }
                self.preview.users.extend(users);
            }
            PreviewOutcome::DirectoryLoaded { attempt, result } if attempt == *current => {
                self.preview.load = match result {
                    Ok(()) => Load::Loaded,
                    Err(f) => Load::Failed(f),
                };
            }
            // A late page or answer of an abandoned load.
            PreviewOutcome::DirectoryPage { .. } | PreviewOutcome::DirectoryLoaded { .. } => {}
        }
        Vec::new()
    }
}
