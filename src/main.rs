//! `mspbots-setup`: parses the command line once, sets up logging, and hands over to the window or a command.
#![cfg_attr(all(windows, not(debug_assertions)), windows_subsystem = "windows")]

use std::process::ExitCode;

use clap::Parser as _;
use mspbots_setup::app;
use mspbots_setup::cli::{self, Cli, Command};

fn main() -> ExitCode {
    // First thing: benchmarks measure start-up from here.
    let started = mspbots_setup::clock::Clock::start();
    #[cfg(windows)]
    attach_parent_console();
    mspbots_setup::diagnostics::install_panic_hook();
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match cli.command {
        Some(Command::Sim(args)) => cli::run_sim(args),
        Some(Command::Run(args)) => {
            cli::run_headless(args, mspbots_setup::fsutil::state_dir_from_env(), std::env::var("BROWSER").ok())
        }
        Some(Command::Explain(args)) => cli::run_explain(&args),
        Some(Command::Customers(command)) => {
            cli::run_customers(command, mspbots_setup::fsutil::state_dir_from_env(), std::env::var("BROWSER").ok())
        }
        Some(Command::Diagnostics(args)) => cli::run_diagnostics(args, &mspbots_setup::fsutil::state_dir_from_env()),
        Some(Command::Conformance(command)) => {
            cli::run_conformance(command, mspbots_setup::fsutil::state_dir_from_env(), std::env::var("BROWSER").ok())
        }
        Some(Command::Reproduce(args)) => cli::run_reproduce(&args, mspbots_setup::fsutil::state_dir_from_env()),
        None => {
            let frame_log = std::env::var_os("MSPBOTS_SETUP_FRAME_LOG").map(std::path::PathBuf::from);
            let timer = app::frame_timer::FrameTimer::new(frame_log.as_deref(), started);
            match mspbots_setup::launch::Launch::resolve(&cli.target.launch()) {
                Ok(launch) => app::run(launch, mspbots_setup::fsutil::state_dir_from_env(), timer),
                Err(problem) => app::refuse(&problem),
            }
        }
    }
}

/// Logs go to stderr; `-v` and `-vv` raise the level.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).with_target(false).init();
}

/// A Windows release build is a windowed program without a console of its own, so a command typed in a terminal
/// (`sim`, `run`, `explain`, `--help`) would print nowhere: write to the console of the terminal that started the
/// program, if there is one. Output redirected to a file or a pipe keeps going there; a debug build (console
/// program) already has its console.
#[cfg(windows)]
#[expect(unsafe_code, reason = "two Win32 calls without pointers; no Rust API attaches a console")]
fn attach_parent_console() {
    use windows_sys::Win32::System::Console::{ATTACH_PARENT_PROCESS, AttachConsole, GetStdHandle, STD_OUTPUT_HANDLE};
    // SAFETY: neither call takes or returns memory owned elsewhere. AttachConsole fails harmlessly when there is no
    // parent console (started from Explorer) or the process has one.
    unsafe {
        if GetStdHandle(STD_OUTPUT_HANDLE).is_null() {
            AttachConsole(ATTACH_PARENT_PROCESS);
        }
    }
}
