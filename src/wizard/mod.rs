//! The wizard's pure core: which steps exist, in which order, and what state each is in.
//!
//! Pure means: no egui, tokio, reqwest, keyring, file system or clock here (STYLE rule 1). The shell feeds it
//! events and carries out the effects it returns; the app only renders it.

/// The steps of the wizard, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepId {
    Welcome,
    SignIn,
    AdminConsent,
    VerifyPermissions,
    TeamsApp,
    GlobalPolicy,
    Done,
}

impl StepId {
    /// Every step, in the order the admin walks them.
    pub const ALL: [Self; 7] = [
        Self::Welcome,
        Self::SignIn,
        Self::AdminConsent,
        Self::VerifyPermissions,
        Self::TeamsApp,
        Self::GlobalPolicy,
        Self::Done,
    ];

    /// The step's name in the step list.
    pub fn title(self) -> &'static str {
        match self {
            Self::Welcome => "Welcome",
            Self::SignIn => "Sign in",
            Self::AdminConsent => "Admin consent",
            Self::VerifyPermissions => "Verify permissions",
            Self::TeamsApp => "Teams app",
            Self::GlobalPolicy => "Global policy",
            Self::Done => "Done",
        }
    }
}

/// How a step stands, as the step list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    NotStarted,
    Running,
    Done,
    NeedsAttention,
    Skipped,
}

impl StepStatus {
    /// Words for screen readers and the status column.
    pub fn label(self) -> &'static str {
        match self {
            Self::NotStarted => "not started",
            Self::Running => "running",
            Self::Done => "done",
            Self::NeedsAttention => "needs attention",
            Self::Skipped => "skipped",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_in_walking_order_with_distinct_titles() {
        let mut sorted = StepId::ALL;
        sorted.sort();
        assert_eq!(sorted, StepId::ALL);
        let titles: std::collections::BTreeSet<&str> = StepId::ALL.iter().map(|s| s.title()).collect();
        assert_eq!(titles.len(), StepId::ALL.len());
    }
}
