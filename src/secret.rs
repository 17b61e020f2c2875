//! Secrets as values that cannot leak by accident: a redacted `Debug`, no `Display`, no `Serialize`, and an explicit
//! `expose` at the one place that must use the text (an HTTP header, a form field, the keychain).

use std::fmt;

/// A secret string: a token, an authorization code, a PKCE verifier, a device code, a client secret.
///
/// Equality is constant-time (its time depends only on the lengths), so comparing a received `state` with the one
/// sent cannot be timed to learn it.
#[derive(Clone)]
pub struct Secret(String);

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(&other.0)
    }
}

impl Eq for Secret {}

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text, for the one place that must send or store it. Never log or display it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in constant time (for `state` values and the like), with the crypto library's comparison.
    pub fn ct_eq(&self, other: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), other.as_bytes()).is_ok()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secret::new("super-secret-token");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret([redacted]))");
        assert_eq!(s.expose(), "super-secret-token");
    }

    #[test]
    fn constant_time_comparison_is_correct() {
        let s = Secret::new("abc");
        assert!(s.ct_eq("abc"));
        assert!(!s.ct_eq("abd"));
        assert!(!s.ct_eq("ab"));
        assert!(!s.ct_eq(""));
        assert_eq!(s, Secret::new("abc"));
        assert_ne!(s, Secret::new("abd"));
        assert_ne!(s, Secret::new("abcd"));
    }
}
