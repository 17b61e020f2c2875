//! `mspbots-setup sim`: the simulated tenant served on its own for scripts, MSAL's interop run and support, with
//! one JSON line on stdout describing it (hosts, CA, ids, accounts).

use std::io::Write as _;
use std::process::ExitCode;

use super::ServeOptions;
use crate::launch::report;
use crate::sim::{self, Sim, SimConfig};

/// Serves until SIGINT or SIGTERM, then exits 0; 2 for a name or folder it cannot use.
pub fn run(args: ServeOptions) -> ExitCode {
    if args.list {
        let mut out = std::io::stdout().lock();
        for (name, summary) in sim::scenario::shipped() {
            // A closed stdout (e.g. `| head`) is not an error worth reporting.
            let _ignored = writeln!(out, "{name:<24} {summary}");
        }
        return ExitCode::SUCCESS;
    }
    let scenario = match super::Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(err) => {
            report("cannot load the scenario", &err);
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.state_dir
        && dir.exists()
        && !dir.is_dir()
    {
        report("cannot use the state folder", &std::io::Error::other(format!("{} is not a folder", dir.display())));
        return ExitCode::from(2);
    }
    if let Some(Err(err)) = args.auto_login.as_deref().map(|upn| scenario.check_account(upn)) {
        report("cannot sign in automatically", &err);
        return ExitCode::from(2);
    }
    let runtime = match crate::shell::runtime("mspbots-sim") {
        Ok(rt) => rt,
        Err(err) => {
            report("cannot start the async runtime", &err);
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let config =
            SimConfig { addr: args.addr, scenario: scenario.0, auto_login: args.auto_login, work_dir: args.state_dir };
        let sim = match Sim::start(config).await {
            Ok(sim) => sim,
            Err(err) => {
                report("cannot start the simulated tenant", &err);
                return ExitCode::FAILURE;
            }
        };
        let line = match serde_json::to_string(sim.info()) {
            Ok(line) => line,
            Err(err) => {
                report("cannot describe the simulated tenant", &err);
                return ExitCode::FAILURE;
            }
        };
        {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                return ExitCode::FAILURE;
            }
        }
        wait_for_stop_signal().await;
        sim.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _interrupted = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _interrupted = tokio::signal::ctrl_c().await;
    }
}
