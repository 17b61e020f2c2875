//! View state of the directory preview that is not the wizard's business: the search text, the drill-down, the
//! filtered rows, and the avatar textures (an LRU cache filled lazily for the rows on screen).

use std::collections::{HashMap, HashSet};

use crate::shell::Avatar;
use crate::wizard::{DirectoryUser, Failure, Gap};

/// Most avatars kept as textures at once (48x48 RGBA: 9 KB each).
const AVATAR_CAPACITY: usize = 600;
/// Most avatars asked for in one request (one Graph `$batch`).
pub const AVATAR_BATCH: usize = 20;

/// What the cache holds for one user.
pub enum AvatarSlot {
    Photo(egui::TextureHandle),
    /// No photo (or it could not be read): initials are drawn.
    Initials,
}

impl std::fmt::Debug for AvatarSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Photo(_) => "Photo",
            Self::Initials => "Initials",
        })
    }
}

#[derive(Debug)]
struct Cached {
    slot: AvatarSlot,
    last_used: u64,
}

/// Avatar textures by user id, least recently used dropped first.
#[derive(Debug, Default)]
pub struct AvatarCache {
    entries: HashMap<String, Cached>,
    /// Asked for, not answered yet.
    pending: HashSet<String>,
    /// Decoded photos waiting to become textures (textures need the UI context).
    incoming: Vec<(String, Result<Option<Avatar>, Failure>)>,
    frame: u64,
}

impl AvatarCache {
    /// Files photos the shell reported.
    pub fn receive(&mut self, photos: Vec<(String, Result<Option<Avatar>, Failure>)>) {
        for (id, _) in &photos {
            self.pending.remove(id);
        }
        self.incoming.extend(photos);
    }

    /// Turns received photos into textures; call once per frame before drawing.
    pub fn upload(&mut self, ctx: &egui::Context) {
        self.frame += 1;
        for (id, result) in self.incoming.drain(..) {
            let slot = match result {
                Ok(Some(a)) => {
                    let image = egui::ColorImage::from_rgba_unmultiplied([a.width, a.height], &a.rgba);
                    AvatarSlot::Photo(ctx.load_texture(format!("avatar-{id}"), image, egui::TextureOptions::LINEAR))
                }
                Ok(None) => AvatarSlot::Initials,
                Err(f) => {
                    tracing::debug!("avatar of {id} not shown: {f}");
                    AvatarSlot::Initials
                }
            };
            self.entries.insert(id, Cached { slot, last_used: self.frame });
        }
        if self.entries.len() > AVATAR_CAPACITY {
            let mut by_age: Vec<(u64, String)> = self.entries.iter().map(|(k, v)| (v.last_used, k.clone())).collect();
            by_age.sort_unstable();
            for (_, id) in by_age.into_iter().take(self.entries.len() - AVATAR_CAPACITY) {
                self.entries.remove(&id);
            }
        }
    }

    /// The avatar of `id` if known (marks it used).
    pub fn get(&mut self, id: &str) -> Option<&AvatarSlot> {
        let frame = self.frame;
        self.entries.get_mut(id).map(|c| {
            c.last_used = frame;
            &c.slot
        })
    }

    /// Of `ids` (the rows on screen), those to ask for now: not cached, not pending; none while a request runs.
    pub fn wanted(&mut self, ids: impl Iterator<Item = String>) -> Vec<String> {
        if !self.pending.is_empty() {
            return Vec::new();
        }
        let want: Vec<String> = ids.filter(|id| !self.entries.contains_key(id)).take(AVATAR_BATCH).collect();
        self.pending.extend(want.iter().cloned());
        want
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Search, drill-down and the rows they select.
#[derive(Default)]
pub struct PreviewState {
    pub search: String,
    pub gap: Option<Gap>,
    pub avatars: AvatarCache,
    /// Indices into the wizard's users, for (search, gap, users loaded).
    rows: Vec<usize>,
    rows_key: Option<(String, Option<Gap>, usize)>,
}

impl std::fmt::Debug for PreviewState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewState")
            .field("search", &self.search)
            .field("gap", &self.gap)
            .field("avatars", &self.avatars.len())
            .finish_non_exhaustive()
    }
}

impl PreviewState {
    /// The users to list, recomputed only when the search, the drill-down or the number of users changed.
    pub fn rows(&mut self, users: &[DirectoryUser]) -> &[usize] {
        let key = (self.search.trim().to_lowercase(), self.gap, users.len());
        if self.rows_key.as_ref() != Some(&key) {
            let (needle, gap) = (&key.0, key.1);
            self.rows = users
                .iter()
                .enumerate()
                .filter(|(_, u)| gap.is_none_or(|g| g.applies(u)))
                .filter(|(_, u)| needle.is_empty() || matches_search(u, needle))
                .map(|(i, _)| i)
                .collect();
            self.rows_key = Some(key);
        }
        &self.rows
    }
}

fn matches_search(u: &DirectoryUser, needle: &str) -> bool {
    let has = |s: &str| s.to_lowercase().contains(needle);
    has(&u.display_name)
        || has(&u.user_principal_name)
        || u.mail.as_deref().is_some_and(has)
        || u.job_title.as_deref().is_some_and(has)
        || u.manager.as_ref().is_some_and(|m| has(&m.display_name))
}

/// Up to two initials of a name, for the placeholder avatar.
pub fn initials(name: &str) -> String {
    let mut words = name.split_whitespace().filter_map(|w| w.chars().next());
    let first = words.next();
    let last = words.next_back();
    [first, last].into_iter().flatten().flat_map(char::to_uppercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, mail: Option<&str>) -> DirectoryUser {
        DirectoryUser {
            department: None,
            id: name.to_lowercase(),
            display_name: name.into(),
            user_principal_name: format!("{}@contoso.com", name.to_lowercase().replace(' ', ".")),
            mail: mail.map(Into::into),
            job_title: None,
            manager: None,
            enabled: true,
            guest: false,
        }
    }

    #[test]
    fn rows_follow_search_and_drill_down() {
        let users = vec![user("Adele Vance", Some("adele@contoso.com")), user("Lee Gu", None)];
        let mut s = PreviewState::default();
        assert_eq!(s.rows(&users), [0, 1]);
        s.search = "VANCE".into();
        assert_eq!(s.rows(&users), [0]);
        s.search.clear();
        s.gap = Some(Gap::NoEmail);
        assert_eq!(s.rows(&users), [1]);
    }

    #[test]
    fn initials_take_first_and_last_word() {
        assert_eq!(initials("Adele Vance"), "AV");
        assert_eq!(initials("Lee Ann Gu"), "LG");
        assert_eq!(initials("Cher"), "C");
        assert_eq!(initials("  "), "");
    }
}
