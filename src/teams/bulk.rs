//! Progress of installing the app for everyone, kept in the state folder so a restart resumes where it stopped:
//! one JSON file per tenant and app, written atomically after every batch. It holds user object ids and results,
//! never a token.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::wizard::{BulkCounts, BulkFailure};

/// What happened for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum UserResult {
    Installed,
    AlreadyHad,
    Failed { code: String, message: String },
}

/// The saved progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkProgress {
    pub tenant_id: String,
    pub catalog_id: String,
    /// Users to install for (object ids), in order.
    pub users: Vec<String>,
    pub results: BTreeMap<String, UserResult>,
}

/// The progress file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the saved progress {path} cannot be read: {detail}")]
pub struct ProgressError {
    pub path: PathBuf,
    pub detail: String,
}

/// A file-name-safe form of an id.
fn safe(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).take(64).collect()
}

impl BulkProgress {
    pub fn new(tenant_id: &str, catalog_id: &str, users: Vec<String>) -> Self {
        Self { tenant_id: tenant_id.to_owned(), catalog_id: catalog_id.to_owned(), users, results: BTreeMap::new() }
    }

    /// Where the progress of `catalog_id` in `tenant_id` is kept.
    pub fn path(state_dir: &Path, tenant_id: &str, catalog_id: &str) -> PathBuf {
        state_dir.join("bulk-install").join(format!("{}-{}.json", safe(tenant_id), safe(catalog_id)))
    }

    /// The saved progress, `None` when there is none; a broken file is an error (the caller starts over and says so).
    pub fn load(path: &Path) -> Result<Option<Self>, ProgressError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ProgressError { path: path.to_owned(), detail: e.to_string() }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ProgressError { path: path.to_owned(), detail: e.to_string() })
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic_private(path, &bytes)
    }

    /// Merges a new list of users: those not done yet are added in order.
    pub fn extend_users(&mut self, users: &[String]) {
        for u in users {
            if !self.users.contains(u) {
                self.users.push(u.clone());
            }
        }
    }

    /// Users still to do: not installed and not already having it (earlier failures are tried again).
    pub fn remaining(&self) -> Vec<String> {
        self.users
            .iter()
            .filter(|u| !matches!(self.results.get(*u), Some(UserResult::Installed | UserResult::AlreadyHad)))
            .cloned()
            .collect()
    }

    pub fn counts(&self) -> BulkCounts {
        let mut c = BulkCounts { total: self.users.len() as u64, ..BulkCounts::default() };
        for u in &self.users {
            match self.results.get(u) {
                Some(UserResult::Installed) => c.installed += 1,
                Some(UserResult::AlreadyHad) => c.already_had += 1,
                Some(UserResult::Failed { .. }) => c.failed += 1,
                None => {}
            }
        }
        c
    }

    pub fn failures(&self) -> Vec<BulkFailure> {
        self.users
            .iter()
            .filter_map(|u| match self.results.get(u) {
                Some(UserResult::Failed { code, message }) => {
                    Some(BulkFailure { user: u.clone(), code: code.clone(), message: message.clone() })
                }
                _ => None,
            })
            .collect()
    }

    /// True when every user has a result and none failed.
    pub fn complete(&self) -> bool {
        self.remaining().is_empty() && self.failures().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_survives_a_round_trip_and_resumes_with_what_is_left() {
        let dir = std::env::temp_dir().join(format!("mspbots-bulk-{}", std::process::id()));
        let path = BulkProgress::path(&dir, "tid/..", "app:1");
        assert!(path.starts_with(dir.join("bulk-install")), "ids cannot leave the folder: {path:?}");
        assert_eq!(BulkProgress::load(&path).unwrap(), None);
        let mut p = BulkProgress::new("tid", "app", vec!["a".into(), "b".into(), "c".into()]);
        p.results.insert("a".into(), UserResult::Installed);
        p.results.insert("b".into(), UserResult::Failed { code: "Forbidden".into(), message: "blocked".into() });
        p.save(&path).unwrap();
        let back = BulkProgress::load(&path).unwrap().unwrap();
        assert_eq!(back, p);
        assert_eq!(back.remaining(), ["b", "c"], "failures are tried again");
        assert_eq!(back.counts(), BulkCounts { total: 3, installed: 1, already_had: 0, failed: 1 });
        assert!(!back.complete());
        std::fs::write(&path, b"{ broken").unwrap();
        assert!(BulkProgress::load(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
