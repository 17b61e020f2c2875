//! `mspbots-setup conformance`: how far the simulated tenant is from a real one.
//!
//! `record` signs an admin in with read-only permissions, makes every read the wizard makes (the same shell
//! effects: the account, the tenant's grants and licences, the directory and photos, the Teams catalog and the
//! admin's apps, the org-wide app settings and the setup policies), writes nothing, and saves a shape report
//! ([`shape::Report`]): no values, ids, names, tokens or tenant details. `compare` records the same reads against
//! the simulator and prints how they differ. The vendor runs `record` once on a real tenant and sends the report.
//!
//! Exit codes: 0 recorded / no difference; 1 differences (compare) or a sign-in that failed (record); 2 bad input.

pub mod shape;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::diagnostics::journal::{Answer, Observer};
use crate::headless::{Connected, HeadlessOptions, SetupError};
use crate::shell::{Report as ShellReport, Shell};
use crate::wizard::{Attempt, DevicePoll, Effect, Outcome, Prompt, ScopeSet};
use shape::Report;

/// Read-only Graph permissions: what the wizard reads, and nothing that writes.
const READ_ONLY_GRAPH: &[&str] = &[
    "User.Read",
    "Application.Read.All",
    "Directory.Read.All",
    "ProfilePhoto.Read.All",
    "AppCatalog.Read.All",
    "TeamsAppInstallation.ReadForUser",
];

/// How long one read may take before the recording says so and goes on.
const READ_PATIENCE: Duration = Duration::from_secs(180);

/// A sign-in may wait for a person.
const SIGN_IN_PATIENCE: Duration = Duration::from_secs(15 * 60);

/// Why a conformance command could not do what it was asked; exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error(transparent)]
    Setup(#[from] SetupError),
    #[error("cannot write the report to {path}: its folder does not exist")]
    OutFolder { path: PathBuf },
    #[error("cannot read the report {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a conformance report (made by `mspbots-setup conformance record`): {reason}")]
    NotAReport { path: PathBuf, reason: String },
    #[error("cannot write the report {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error(
        "record measures a real tenant, but the vendor profile lacks {fields}: give --profile with the vendor's app \
         ids (or --login-url and --graph-url for another Microsoft-shaped endpoint)"
    )]
    NeedsTenant { fields: String },
    #[error("cannot make a private working folder for the simulator's recording")]
    WorkFolder(#[source] std::io::Error),
}

/// Keeps every answer's shape.
#[derive(Debug)]
struct Recorder(Mutex<Report>);

impl Observer for Recorder {
    fn answered(&self, answer: &Answer<'_>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).add(answer);
    }
}

/// What a recording read, and what it could not.
struct Recording {
    report: Report,
    /// Reads that failed (their answers are in the report too): one line each.
    failed: Vec<String>,
    signed_in: bool,
}

/// `conformance record --out FILE`: `options` as for a headless run (tenant, cloud, device code, test endpoints).
pub fn record(options: HeadlessOptions, out: &Path) -> ExitCode {
    let folder = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return refuse(&ConformanceError::OutFolder { path: out.to_owned() });
    }
    // A recording of the simulator standing in for the tenant would measure nothing: refuse the demo's fallback.
    if options.login_url.is_none() {
        match crate::launch::Launch::resolve(&options.launch) {
            Ok(crate::launch::Launch {
                mode: crate::launch::Mode::Demo { reason: crate::launch::DemoReason::ProfileIncomplete(gaps), .. },
                ..
            }) => {
                let fields = gaps.iter().map(|(field, _)| field.as_str()).collect::<Vec<_>>().join(", ");
                return refuse(&ConformanceError::NeedsTenant { fields });
            }
            Ok(_) => {}
            Err(e) => return refuse(&ConformanceError::Setup(SetupError::Launch(e))),
        }
    }
    let recording = match run_recording(options, "a tenant".to_owned()) {
        Ok(r) => r,
        Err(e) => return refuse(&e),
    };
    for line in &recording.failed {
        tell(&format!("Could not read: {line}"));
    }
    if !recording.signed_in {
        tell("Nothing recorded: the sign-in did not finish.");
        return ExitCode::FAILURE;
    }
    let json = serde_json::to_vec_pretty(&recording.report).unwrap_or_default();
    if let Err(source) = crate::fsutil::write_atomic_private(out, &json) {
        return refuse(&ConformanceError::Write { path: out.to_owned(), source });
    }
    let answers: u32 = recording.report.exchanges.iter().map(|e| e.count).sum();
    say(&format!(
        "Recorded the shape of {answers} answers to {} requests in {} (nothing was written to the tenant; the report \
         holds no values, ids, names or tokens).",
        recording.report.exchanges.len(),
        out.display()
    ));
    ExitCode::SUCCESS
}

/// `conformance compare FILE`: records the simulator (`options` name its scenario) and prints the differences.
pub fn compare(mut options: HeadlessOptions, file: &Path, json: bool) -> ExitCode {
    let tenant = match load(file) {
        Ok(r) => r,
        Err(e) => return refuse(&e),
    };
    let scenario = options.launch.scenario.clone();
    options.launch.demo = true;
    let work = match private_folder() {
        Ok(w) => w,
        Err(e) => return refuse(&e),
    };
    options.state_dir = work.clone();
    let recording = run_recording(options, format!("the simulator (scenario {scenario})"));
    let _ignored = std::fs::remove_dir_all(&work);
    let simulator = match recording {
        Ok(r) if r.signed_in => r.report,
        Ok(r) => {
            tell(&format!("The simulator's sign-in did not finish: {}", r.failed.join("; ")));
            return ExitCode::FAILURE;
        }
        Err(e) => return refuse(&e),
    };
    let differences = shape::diff(&tenant, &simulator);
    for d in &differences {
        if json {
            say(&serde_json::to_string(d).unwrap_or_default());
        } else {
            say(&d.to_string());
        }
    }
    if !json {
        say(&format!(
            "{} difference{} between {} ({}) and {}.",
            differences.len(),
            if differences.len() == 1 { "" } else { "s" },
            file.display(),
            tenant.source,
            simulator.source
        ));
    }
    if differences.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Reads a report; anything else is [`ConformanceError::NotAReport`].
pub fn load(path: &Path) -> Result<Report, ConformanceError> {
    let bytes = std::fs::read(path).map_err(|source| ConformanceError::Read { path: path.to_owned(), source })?;
    let not = |reason: String| ConformanceError::NotAReport { path: path.to_owned(), reason };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| not(format!("not JSON ({e})")))?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(shape::FORMAT) {
        return Err(not(format!("its format is not '{}'", shape::FORMAT)));
    }
    serde_json::from_value(value).map_err(|e| not(e.to_string()))
}

fn run_recording(options: HeadlessOptions, source: String) -> Result<Recording, ConformanceError> {
    let checked = crate::headless::check(&options)?;
    let runtime = crate::shell::runtime("mspbots-conformance").map_err(ConformanceError::Runtime)?;
    runtime.block_on(async move {
        let graph_resource = |env: &crate::shell::Environment| env.graph_resource.clone();
        let connected = crate::headless::connect(checked, &options, |env| {
            let resource = graph_resource(env);
            let graph: Vec<String> = READ_ONLY_GRAPH.iter().map(|p| format!("{resource}/{p}")).collect();
            env.sign_in_scopes = ["openid", "profile", "offline_access"].iter().map(|s| (*s).to_owned()).collect();
            env.sign_in_scopes.extend(graph.iter().cloned());
            env.tenant_read_scopes.clone_from(&graph);
            env.up_front_scopes.clone_from(&graph);
            env.teams_setup_scopes = graph;
        })
        .await?;
        let Connected { mut shell, .. } = connected;
        let recorder = Arc::new(Recorder(Mutex::new(Report::new(source))));
        // A new journal has no observer yet; the first is always accepted.
        let _first = shell.journal().observe(recorder.clone());
        let mut failed = Vec::new();
        let signed_in = read_everything(&mut shell, options.device_code, &mut failed).await;
        let mut report = recorder.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        report.sort();
        Ok(Recording { report, failed, signed_in })
    })
}

/// Signs in, then runs every read effect of the wizard, one after the other. False when the sign-in failed.
async fn read_everything(shell: &mut Shell, device_code: bool, failed: &mut Vec<String>) -> bool {
    let mut next = 0;
    let mut attempt = || {
        next += 1;
        Attempt(next)
    };
    let account =
        if device_code { device_sign_in(shell, attempt()).await } else { browser_sign_in(shell, attempt()).await };
    let account = match account {
        Ok(a) => a,
        Err(reason) => {
            failed.push(format!("sign-in: {reason}"));
            return false;
        }
    };
    let reads = [
        ("the vendor app's consent", Effect::CheckConsent { attempt: attempt() }),
        ("the tenant's grants and licences", Effect::ReadTenant { attempt: attempt() }),
        ("the directory", Effect::LoadDirectory { attempt: attempt() }),
        (
            "the Teams app",
            Effect::InspectTeams {
                attempt: attempt(),
                tenant_id: account.tenant_id.clone(),
                own_copy: account.home_tenant_id.is_none(),
            },
        ),
        ("the app setup policies", Effect::ReadSetupPolicies { attempt: attempt() }),
    ];
    let mut users = Vec::new();
    for (what, effect) in reads {
        shell.run(effect);
        match finished(shell, READ_PATIENCE, &mut users).await {
            Some(Ok(())) => {}
            Some(Err(reason)) => failed.push(format!("{what}: {reason}")),
            None => failed.push(format!("{what}: no answer within {} s", READ_PATIENCE.as_secs())),
        }
    }
    // Who has the app: the delivery check's reads (the admin and a few of the directory).
    let sample: Vec<crate::wizard::SampleUser> = std::iter::once(crate::wizard::SampleUser {
        id: account.object_id.clone(),
        name: account.display_name.clone(),
    })
    .chain(users.iter().take(4).map(|id| crate::wizard::SampleUser { id: id.clone(), name: String::new() }))
    .collect();
    shell.run(Effect::CheckDelivery { attempt: attempt(), users: sample });
    loop {
        match shell.next_report(READ_PATIENCE).await {
            Some(ShellReport::Wizard(Outcome::DeliveryChecked { result, .. })) => {
                if let Err(f) = result {
                    failed.push(format!("who has the app: {}", f.code()));
                }
                break;
            }
            Some(_) => {}
            None => {
                failed.push("who has the app: no answer".to_owned());
                break;
            }
        }
    }
    // Photos: the preview reads a few.
    users.truncate(5);
    if !users.is_empty() {
        shell.fetch_avatars(users);
        loop {
            match shell.next_report(READ_PATIENCE).await {
                Some(ShellReport::Avatars(_)) | None => break,
                Some(_) => {}
            }
        }
    }
    true
}

/// Waits for the final outcome of the effect just run; collects the directory's user ids on the way.
async fn finished(shell: &mut Shell, patience: Duration, users: &mut Vec<String>) -> Option<Result<(), String>> {
    let text = |f: &crate::wizard::Failure| f.code();
    loop {
        let ShellReport::Wizard(outcome) = shell.next_report(patience).await? else { continue };
        return Some(match outcome {
            Outcome::DirectoryPage { users: page, .. } => {
                users.extend(page.into_iter().map(|u| u.id));
                continue;
            }
            Outcome::ConsentObserved { result, .. } => result.map(|_| ()).map_err(|f| text(&f)),
            Outcome::TenantRead { result, .. } => result.map(|_| ()).map_err(|f| text(&f)),
            Outcome::DirectoryLoaded { result, .. } => result.map_err(|f| text(&f)),
            Outcome::TeamsInspected { result, .. } => result.map(|_| ()).map_err(|f| text(&f)),
            Outcome::SetupPoliciesRead { result, .. } => result.map(|_| ()).map_err(|f| text(&f)),
            _ => continue,
        });
    }
}

async fn browser_sign_in(shell: &mut Shell, attempt: Attempt) -> Result<crate::wizard::Account, String> {
    shell.run(Effect::BeginBrowserSignIn {
        attempt,
        scopes: ScopeSet::SignInWithSteps,
        prompt: Prompt::SelectAccount,
        login_hint: None,
    });
    loop {
        let Some(report) = shell.next_report(SIGN_IN_PATIENCE).await else {
            return Err("no sign-in within 15 minutes".to_owned());
        };
        if let ShellReport::Wizard(Outcome::SignInFinished { result, .. }) = report {
            return result.map_err(|f| f.code());
        }
    }
}

async fn device_sign_in(shell: &mut Shell, attempt: Attempt) -> Result<crate::wizard::Account, String> {
    shell.run(Effect::BeginDeviceCode { attempt, scopes: ScopeSet::SignInWithSteps });
    let mut interval = loop {
        match shell.next_report(SIGN_IN_PATIENCE).await {
            Some(ShellReport::Wizard(Outcome::DeviceCodeReady { result, .. })) => match result {
                Ok(view) => {
                    tell(&view.message);
                    break view.interval.max(Duration::from_secs(1));
                }
                Err(f) => return Err(f.code()),
            },
            Some(_) => {}
            None => return Err("no device code".to_owned()),
        }
    };
    loop {
        tokio::time::sleep(interval).await;
        shell.run(Effect::PollDeviceCode { attempt });
        let poll = loop {
            match shell.next_report(SIGN_IN_PATIENCE).await {
                Some(ShellReport::Wizard(Outcome::DevicePolled { result, .. })) => break result,
                Some(_) => {}
                None => return Err("the token endpoint did not answer".to_owned()),
            }
        };
        match poll {
            DevicePoll::Pending => {}
            DevicePoll::SlowDown => interval += Duration::from_secs(5),
            DevicePoll::Finished(result) => return result.map_err(|f| f.code()),
        }
    }
}

/// A fresh folder of our own for the simulator run's state (its vault), removed afterwards.
fn private_folder() -> Result<PathBuf, ConformanceError> {
    static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mspbots-conformance-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(ConformanceError::WorkFolder)?;
    Ok(dir)
}

fn refuse(e: &ConformanceError) -> ExitCode {
    crate::launch::report("conformance", e);
    ExitCode::from(2)
}

/// Results on stdout.
fn say(text: &str) {
    use std::io::Write as _;
    let _ignored = writeln!(std::io::stdout().lock(), "{text}");
}

/// Messages for the person on stderr.
fn tell(text: &str) {
    #[expect(clippy::print_stderr, reason = "conformance talks to the person on stderr")]
    {
        eprintln!("{text}");
    }
}
