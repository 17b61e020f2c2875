//! The launch decision, below both the window (`app`) and `headless`: which vendor profile is in force, live or
//! demo mode, which demo scenario, which bundle is replayed; and the one-line refusal every command prints for
//! input it cannot use.
//!
//! It reads the files the command line names (a profile, a scenario, a bundle) once, before anything starts, and
//! refuses what it cannot use: a missing, unreadable or invalid file, or an unknown name, is a [`LaunchError`],
//! never a quiet fallback to the shipped profile or the happy scenario. It must not start anything, touch the
//! network or import egui.

use std::path::PathBuf;

use crate::demo::{DemoError, Replay, Scenario};
use crate::diagnostics::bundle::{Bundle, BundleError};
use crate::profile::{Cloud, LiveGap, Profile, ProfileError};

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// `--demo`.
    pub demo: bool,
    /// `--profile FILE`.
    pub profile: Option<PathBuf>,
    /// `--scenario NAME|FILE`; empty means the happy scenario.
    pub scenario: String,
    /// `--tenant T`: sign in to this tenant instead of `organizations`.
    pub tenant: Option<String>,
    /// `reproduce BUNDLE`: replay a diagnostics bundle against a simulated tenant made from it.
    pub reproduce: Option<PathBuf>,
    /// `--cloud C`: the Microsoft cloud, instead of the profile's.
    pub cloud: Option<Cloud>,
    /// `--as UPN`: demo mode only, the account the simulated sign-in pages sign in as by themselves.
    pub demo_account: Option<String>,
}

/// Why the program runs against the simulated tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoReason {
    /// `--demo` was given.
    Requested,
    /// The profile lacks ids live mode needs (the shipped profile, until the vendor fills it in).
    ProfileIncomplete(Vec<(String, String)>),
    /// Replaying a diagnostics bundle.
    Reproduce { path: PathBuf },
}

/// Live tenant or simulated one, decided once at launch.
#[derive(Debug, Clone)]
pub enum Mode {
    Live,
    Demo { reason: DemoReason, scenario: Box<Scenario> },
}

/// The resolved launch: the profile in force and the mode.
#[derive(Debug, Clone)]
pub struct Launch {
    pub profile: Profile,
    pub mode: Mode,
    pub tenant: Option<String>,
    /// The bundle being replayed and what was made of it.
    pub reproduction: Option<Box<(Bundle, Replay)>>,
    /// Demo mode: the account the simulated sign-in pages sign in as (`--as`), checked against the scenario.
    pub demo_account: Option<String>,
}

/// Why the program will not start with what it was given. Shown as one line (exit code 2), and in the window
/// instead of the wizard.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot use the vendor profile")]
    Profile(#[source] ProfileError),
    #[error("cannot use the demo scenario")]
    Scenario(#[source] DemoError),
    #[error("cannot open the diagnostics bundle")]
    Bundle(#[source] BundleError),
    #[error("cannot make a simulated tenant from the bundle {path}")]
    Reproduce {
        path: PathBuf,
        #[source]
        source: DemoError,
    },
    /// The compiled-in profile does not parse: a build defect the tests rule out.
    #[error("the shipped vendor profile is broken")]
    ShippedProfile(#[source] ProfileError),
    /// `--as` names a demo account; there is none in live mode.
    #[error("--as {upn} picks an account of the demo tenant, and this run is not in demo mode (add --demo)")]
    AsNeedsDemo { upn: String },
}

impl Launch {
    /// Reads the profile, scenario or bundle the command line names, refusing any it cannot use.
    pub fn resolve(options: &LaunchOptions) -> Result<Self, LaunchError> {
        if let Some(path) = &options.reproduce {
            let bundle = Bundle::load(path).map_err(LaunchError::Bundle)?;
            let reproduction =
                Replay::from_bundle(&bundle).map_err(|source| LaunchError::Reproduce { path: path.clone(), source })?;
            let profile = Profile::shipped().map_err(LaunchError::ShippedProfile)?;
            return Ok(Self {
                profile,
                mode: Mode::Demo {
                    reason: DemoReason::Reproduce { path: path.clone() },
                    scenario: Box::new(reproduction.scenario.clone()),
                },
                tenant: None,
                reproduction: Some(Box::new((bundle, reproduction))),
                demo_account: None,
            });
        }
        let mut profile = match &options.profile {
            Some(path) => Profile::load(path).map_err(LaunchError::Profile)?,
            None => Profile::shipped().map_err(LaunchError::ShippedProfile)?,
        };
        if let Some(cloud) = options.cloud {
            profile.cloud = cloud;
        }
        let gaps = profile.live_gaps();
        let reason = if options.demo {
            Some(DemoReason::Requested)
        } else if !gaps.is_empty() {
            Some(DemoReason::ProfileIncomplete(gaps.iter().map(gap_text).collect()))
        } else {
            None
        };
        // A scenario named on the command line is checked even in live mode, where it is not used: a mistyped
        // name is a mistake to show, not to carry. A live-only build has none to check unless demo mode is needed.
        let scenario_name = if options.scenario.is_empty() { "happy" } else { options.scenario.as_str() };
        let scenario = match (&reason, crate::demo::AVAILABLE) {
            (Some(_), _) | (None, true) => Some(Scenario::load(scenario_name).map_err(LaunchError::Scenario)?),
            (None, false) => None,
        };
        let tenant = options.tenant.clone();
        let mode = match (reason, scenario) {
            (Some(reason), Some(scenario)) => Mode::Demo { reason, scenario: Box::new(scenario) },
            _ => Mode::Live,
        };
        let demo_account = options.demo_account.clone();
        if let Some(upn) = &demo_account {
            match &mode {
                Mode::Demo { scenario, .. } => scenario.check_account(upn).map_err(LaunchError::Scenario)?,
                Mode::Live => return Err(LaunchError::AsNeedsDemo { upn: upn.clone() }),
            }
        }
        Ok(Self { profile, mode, tenant, reproduction: None, demo_account })
    }
}

fn gap_text(gap: &LiveGap) -> (String, String) {
    (gap.field.to_owned(), gap.meaning.to_owned())
}

/// `err` and its causes as one line: `cannot use the vendor profile: could not read …: No such file or directory`.
pub fn one_line(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // thiserror messages sometimes repeat their source's text; say it once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    // A message that spans lines (a parser's picture of the line) would break the one line scripts read.
    if text.contains('\n') { text.split_whitespace().collect::<Vec<_>>().join(" ") } else { text }
}

/// Prints `error: {context}: {err and its causes}` on stderr, as one line.
pub fn report(context: &str, err: &dyn std::error::Error) {
    #[expect(clippy::print_stderr, reason = "command-line error output")]
    {
        eprintln!("error: {context}: {}", one_line(err));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(scenario: &str) -> LaunchOptions {
        LaunchOptions { scenario: scenario.to_owned(), ..LaunchOptions::default() }
    }

    #[cfg(feature = "demo")]
    #[test]
    fn the_shipped_profile_runs_the_demo_because_it_lacks_live_ids() {
        let launch = Launch::resolve(&options("")).unwrap();
        let Mode::Demo { reason: DemoReason::ProfileIncomplete(gaps), scenario } = launch.mode else {
            panic!("{:?}", launch.mode)
        };
        assert!(!gaps.is_empty());
        assert_eq!(scenario.name(), "happy");
    }

    #[test]
    fn a_missing_profile_is_refused_not_replaced_by_the_shipped_one() {
        let o = LaunchOptions { profile: Some("/no/such/profile.toml".into()), ..options("happy") };
        let err = Launch::resolve(&o).unwrap_err();
        assert!(matches!(err, LaunchError::Profile(ProfileError::Read { .. })), "{err:?}");
        let line = one_line(&err);
        assert!(
            line.starts_with("cannot use the vendor profile: could not read the vendor profile /no/such/profile.toml")
        );
        assert!(!line.contains('\n'), "{line}");
    }

    #[cfg(feature = "demo")]
    #[test]
    fn an_unknown_scenario_is_refused_with_the_shipped_names() {
        for demo in [false, true] {
            let err = Launch::resolve(&LaunchOptions { demo, ..options("no-such-name") }).unwrap_err();
            let line = one_line(&err);
            assert!(line.contains("'no-such-name'") && line.contains("happy") && line.contains("not-admin"), "{line}");
        }
    }

    /// `--as` names a demo account: an unknown one, or any in live mode, is refused in one line.
    #[cfg(feature = "demo")]
    #[test]
    fn as_needs_a_known_demo_account() {
        let err =
            Launch::resolve(&LaunchOptions { demo_account: Some("nobody@contoso.com".into()), ..options("happy") })
                .unwrap_err();
        assert!(one_line(&err).contains("no account nobody@contoso.com"), "{}", one_line(&err));
        let known = LaunchOptions { demo_account: Some("adele.vance@contoso.com".into()), ..options("happy") };
        assert_eq!(Launch::resolve(&known).unwrap().demo_account.as_deref(), Some("adele.vance@contoso.com"));
        // A profile with every live id: live mode, where there is no demo account to pick.
        let dir = std::env::temp_dir().join(format!("mspbots-launch-as-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = include_str!("../assets/profiles/mspbots.toml")
            .replacen("client_id = \"\"", "client_id = \"3e8b4f21-6a7c-4d15-b9e2-8f0a1c3d5e72\"", 2)
            .replace("store_id = \"\"", "store_id = \"5b1c2f0e-7a3d-4c8e-9f61-2d4b8a0c6e13\"");
        let profile = dir.join("live.toml");
        std::fs::write(&profile, text).unwrap();
        let live = LaunchOptions { profile: Some(profile), ..known };
        let err = Launch::resolve(&live).unwrap_err();
        assert!(matches!(err, LaunchError::AsNeedsDemo { .. }), "{err:?}");
        assert!(one_line(&err).contains("not in demo mode (add --demo)"), "{}", one_line(&err));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(feature = "demo")]
    #[test]
    fn a_missing_bundle_is_refused() {
        let o = LaunchOptions { reproduce: Some("/no/such/bundle.json".into()), ..LaunchOptions::default() };
        assert!(matches!(Launch::resolve(&o), Err(LaunchError::Bundle(BundleError::Read { .. }))));
    }

    /// A live-only build refuses demo mode and replays in so many words, and still runs live.
    #[cfg(not(feature = "demo"))]
    #[test]
    fn a_live_only_build_refuses_demo_mode_and_replays() {
        let err = Launch::resolve(&LaunchOptions { demo: true, ..options("happy") }).unwrap_err();
        assert!(one_line(&err).contains("no demo mode"), "{}", one_line(&err));
        let err = Launch::resolve(&options("")).unwrap_err();
        assert!(matches!(err, LaunchError::Scenario(DemoError::NotInThisBuild)), "the shipped profile is incomplete");
        let replay = LaunchOptions { reproduce: Some("/no/such/bundle.json".into()), ..LaunchOptions::default() };
        assert!(matches!(Launch::resolve(&replay), Err(LaunchError::Bundle(_))), "the bundle is read first");
    }

    #[test]
    fn one_line_says_a_repeated_cause_once() {
        let inner = std::io::Error::other("disk full");
        #[derive(Debug, thiserror::Error)]
        #[error("cannot write: {0}")]
        struct Outer(#[source] std::io::Error);
        assert_eq!(one_line(&Outer(inner)), "cannot write: disk full");
    }
}
