//! The window: decides live or demo mode at launch, owns the shell, drains its reports once per frame and renders.
//!
//! The app renders state and emits intents; it does no network or file work itself (STYLE rules 6-8).

mod shell;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::profile::{LiveGap, Profile};
use crate::sim::{Scenario, Sim};

use crate::wizard::{StepId, StepStatus};

pub use shell::{Report, Shell, Waker};

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// `--demo`.
    pub demo: bool,
    /// `--profile FILE`.
    pub profile: Option<PathBuf>,
    /// `--scenario NAME|FILE`.
    pub scenario: String,
}

/// Why the app runs against the simulated tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoReason {
    /// `--demo` was given.
    Requested,
    /// The profile lacks ids live mode needs.
    ProfileIncomplete(Vec<(String, String)>),
    /// The profile file could not be used; the shipped one runs in demo mode instead.
    ProfileInvalid(String),
}

/// Live tenant or simulated one, decided once at launch.
#[derive(Debug, Clone)]
pub enum Mode {
    Live,
    Demo { reason: DemoReason, scenario: Box<Scenario>, scenario_problem: Option<String> },
}

/// The resolved launch: the profile in force and the mode.
#[derive(Debug, Clone)]
pub struct Launch {
    pub profile: Profile,
    pub mode: Mode,
}

impl Launch {
    /// Reads the profile and scenario named on the command line. A broken profile or scenario file is reported
    /// in the window and the demo tenant runs instead; this fails only if the compiled-in assets are broken too,
    /// which the tests rule out.
    pub fn resolve(options: &LaunchOptions) -> Result<Self, String> {
        let loaded = match &options.profile {
            Some(path) => Profile::load(path),
            None => Profile::shipped(),
        };
        let (profile, invalid) = match loaded {
            Ok(p) => (p, None),
            Err(err) => {
                // The shipped profile is compiled in and tested, so it is the safe fallback.
                let shipped = Profile::shipped();
                match shipped {
                    Ok(p) => (p, Some(format!("{err:#}"))),
                    Err(shipped_err) => {
                        return Err(format!("{err:#}; the shipped profile is broken too: {shipped_err:#}"));
                    }
                }
            }
        };
        let gaps = profile.live_gaps();
        let reason = if let Some(problem) = invalid {
            Some(DemoReason::ProfileInvalid(problem))
        } else if options.demo {
            Some(DemoReason::Requested)
        } else if !gaps.is_empty() {
            Some(DemoReason::ProfileIncomplete(gaps.iter().map(gap_text).collect()))
        } else {
            None
        };
        let Some(reason) = reason else {
            return Ok(Self { profile, mode: Mode::Live });
        };
        let (scenario, scenario_problem) = match crate::sim::scenario::load(&options.scenario) {
            Ok(s) => (s, None),
            Err(err) => match crate::sim::scenario::load("happy") {
                Ok(s) => (s, Some(format!("{err:#}; running the 'happy' scenario instead"))),
                Err(happy_err) => return Err(format!("{err:#}; {happy_err:#}")),
            },
        };
        Ok(Self { profile, mode: Mode::Demo { reason, scenario: Box::new(scenario), scenario_problem } })
    }
}

fn gap_text(gap: &LiveGap) -> (String, String) {
    (gap.field.to_owned(), gap.meaning.to_owned())
}

/// The demo tenant as the window sees it.
#[derive(Debug)]
pub enum DemoTenant {
    /// Live mode: no simulator.
    NotNeeded,
    Starting,
    Ready(Box<Sim>),
    Failed(String),
}

/// The eframe application.
#[derive(Debug)]
pub struct WizardApp {
    pub launch: Launch,
    pub demo: DemoTenant,
    pub current: StepId,
    shell: Shell,
}

impl WizardApp {
    /// Creates the app and starts the demo tenant in the background when in demo mode.
    pub fn new(launch: Launch, shell: Shell, waker: impl Waker) -> Self {
        let demo = match &launch.mode {
            Mode::Live => DemoTenant::NotNeeded,
            Mode::Demo { scenario, .. } => {
                shell.start_demo_tenant((**scenario).clone(), waker);
                DemoTenant::Starting
            }
        };
        Self { launch, demo, current: StepId::Welcome, shell }
    }

    /// Applies finished background work (called once per frame, and by tests).
    pub fn drain_reports(&mut self) {
        for report in self.shell.drain() {
            match report {
                Report::DemoTenant(Ok(sim)) => self.demo = DemoTenant::Ready(Box::new(sim)),
                Report::DemoTenant(Err(err)) => self.demo = DemoTenant::Failed(format!("{err:#}")),
            }
        }
    }

    /// The status of a step in the step list.
    pub fn step_status(&self, step: StepId) -> StepStatus {
        if step == self.current { StepStatus::Running } else { StepStatus::NotStarted }
    }

    /// Everything inside the window (tests drive this without a window).
    pub fn ui_body(&mut self, ui: &mut egui::Ui) {
        views::window_ui(ui, self);
    }
}

impl eframe::App for WizardApp {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_reports();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.ui_body(ui);
    }
}

/// Opens the window. Blocks until it is closed.
pub fn run(options: &LaunchOptions) -> ExitCode {
    let launch = match Launch::resolve(options) {
        Ok(launch) => launch,
        Err(problem) => {
            crate::cli::report("cannot start", &std::io::Error::other(problem));
            return ExitCode::FAILURE;
        }
    };
    if let Mode::Demo { reason: DemoReason::ProfileInvalid(problem), .. } = &launch.mode {
        tracing::warn!("vendor profile not usable, starting the demo tenant: {problem}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mspbots-worker")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            crate::cli::report("cannot start the async runtime", &err);
            return ExitCode::FAILURE;
        }
    };
    let shell = Shell::new(runtime.handle().clone());
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("MSPbots setup")
            .with_app_id("ai.mspbots.setup")
            .with_inner_size([960.0, 640.0])
            .with_min_inner_size([720.0, 480.0]),
        ..Default::default()
    };
    let result = eframe::run_native(
        "MSPbots setup",
        native,
        Box::new(move |cc| {
            let waker = cc.egui_ctx.clone();
            Ok(Box::new(WizardApp::new(launch, shell, waker)))
        }),
    );
    // Background tasks (the demo tenant) end with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            crate::cli::report("the window could not be opened", &err);
            ExitCode::FAILURE
        }
    }
}
