//! Start-up (issue 7, item 1): time from process start to the first frame, and memory once idle, of the wizard
//! next to a bare eframe window built with the same eframe features (this benchmark's own binary, run with
//! `--bare-window`): in demo mode (no profile ids: the demo tenant starts in the background) and in live mode (a
//! complete vendor profile: nothing starts before someone signs in). Both write their first frame's time to `MSPBOTS_SETUP_FRAME_LOG`; the wizard through its own
//! frame timer. Runs alternate so a noisy machine affects both alike; medians are compared.
//!
//! Needs an X display: `DISPLAY`, or Xvfb on the PATH (started on `:91` for the run).
//! Run: `cargo bench --bench startup`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a benchmark binary: it prints its table, reads the real clock and may panic on a broken setup"
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mspbots-setup");
const RUNS: usize = 7;
/// How long a window idles before its memory is read.
const IDLE: Duration = Duration::from_secs(3);

fn main() {
    let started = Instant::now();
    if std::env::args().any(|a| a == "--bare-window") {
        bare_window(started);
        return;
    }
    let (_xvfb, display) = display();
    let me = std::env::current_exe().unwrap();
    let dir = std::env::temp_dir().join(format!("mspbots-bench-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut bare = Vec::new();
    let mut wizard = Vec::new();
    let mut live = Vec::new();
    let profile = dir.join("live-profile.toml");
    std::fs::write(&profile, complete_profile()).unwrap();
    for run in 0..RUNS {
        bare.push(measure(
            Command::new(&me).arg("--bare-window").env("DISPLAY", &display),
            &dir,
            &format!("bare-{run}"),
        ));
        let mut w = Command::new(BIN);
        w.env("DISPLAY", &display);
        // A fresh machine: no profile ids, so the demo tenant starts in the background.
        w.env(mspbots_setup::fsutil::STATE_DIR_VAR, dir.join(format!("state-{run}")));
        wizard.push(measure(&mut w, &dir, &format!("wizard-{run}")));
        let mut l = Command::new(BIN);
        l.arg("--profile").arg(&profile).env("DISPLAY", &display);
        l.env(mspbots_setup::fsutil::STATE_DIR_VAR, dir.join(format!("live-state-{run}")));
        live.push(measure(&mut l, &dir, &format!("live-{run}")));
    }
    let median = |v: &mut Vec<(f64, f64, f64)>, i: usize| {
        let mut xs: Vec<f64> = v.iter().map(|t| [t.0, t.1, t.2][i]).collect();
        xs.sort_by(f64::total_cmp);
        xs[xs.len() / 2]
    };
    println!("Start-up, median of {RUNS} alternating runs under X (cargo bench --bench startup)");
    println!(
        "{:<42} {:>11} {:>11} {:>8} {:>11} {:>8} {:>8}",
        "", "bare eframe", "demo", "ratio", "live", "ratio", "target"
    );
    let rows = [
        ("first frame, from the process's main (ms)", 0, "≤ 1.1×"),
        ("first frame, from spawn (ms)", 1, "≤ 1.1×"),
        ("memory after 3 s idle (RSS, MiB)", 2, "≤ 1.2×"),
    ];
    for (name, i, target) in rows {
        let (b, w, l) = (median(&mut bare, i), median(&mut wizard, i), median(&mut live, i));
        println!("{name:<42} {b:>11.1} {w:>11.1} {:>7.2}× {l:>11.1} {:>7.2}× {target:>8}", w / b, l / b);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The shipped profile with the ids live mode needs (made up: nothing is sent before someone signs in).
fn complete_profile() -> String {
    include_str!("../assets/profiles/mspbots.toml")
        .replacen("client_id = \"\"", "client_id = \"3e8b4f21-6a7c-4d15-b9e2-8f0a1c3d5e72\"", 1)
        .replacen("client_id = \"\"", "client_id = \"9d2c7e58-1b3a-4f60-8e4d-2c5b7a9f1e03\"", 1)
        .replace("store_id = \"\"", "store_id = \"5b1c2f0e-7a3d-4c8e-9f61-2d4b8a0c6e13\"")
}

/// (first frame from main, first frame from spawn, idle RSS in MiB) of one run.
fn measure(command: &mut Command, dir: &Path, name: &str) -> (f64, f64, f64) {
    let log = dir.join(format!("{name}.frames"));
    let spawned = Instant::now();
    let mut child = command
        .env("MSPBOTS_SETUP_FRAME_LOG", &log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let from_main = loop {
        if let Some(ms) = first_frame(&log) {
            break ms;
        }
        assert!(spawned.elapsed() < Duration::from_secs(60), "{name}: no first frame");
        assert!(child.try_wait().unwrap().is_none(), "{name}: exited before its first frame");
        std::thread::sleep(Duration::from_millis(2));
    };
    let from_spawn = spawned.elapsed().as_secs_f64() * 1000.0;
    std::thread::sleep(IDLE);
    let rss = rss_mib(&child);
    stop(&mut child);
    (from_main, from_spawn, rss)
}

fn first_frame(log: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().find_map(|l| l.strip_prefix("first_frame_ms ")).and_then(|v| v.trim().parse().ok())
}

fn rss_mib(child: &Child) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

fn stop(child: &mut Child) {
    let _gone = child.kill();
    let _reaped = child.wait();
}

/// Keeps an Xvfb started for the run alive (and stops it at the end).
struct Xvfb(Option<Child>);

impl Drop for Xvfb {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            stop(c);
        }
    }
}

/// The display to use: `DISPLAY`, or an Xvfb started here on `:91`.
fn display() -> (Xvfb, String) {
    if let Some(d) = std::env::var_os("DISPLAY") {
        return (Xvfb(None), d.to_string_lossy().into_owned());
    }
    let child = Command::new("Xvfb")
        .args([":91", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("no DISPLAY and no Xvfb to start (apt install xvfb)");
    std::thread::sleep(Duration::from_millis(500));
    (Xvfb(Some(child)), ":91".to_owned())
}

/// A bare eframe window: the same eframe build, a title, a label; writes its first frame time like the wizard.
fn bare_window(started: Instant) {
    struct Bare {
        started: Instant,
        log: Option<PathBuf>,
        reported: bool,
    }
    impl eframe::App for Bare {
        fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
            if !self.reported {
                self.reported = true;
                if let Some(path) = &self.log {
                    let mut f = std::fs::File::create(path).unwrap();
                    writeln!(f, "first_frame_ms {}", self.started.elapsed().as_millis()).unwrap();
                }
            }
            ui.label("A bare eframe window");
        }
    }
    let log = std::env::var_os("MSPBOTS_SETUP_FRAME_LOG").map(PathBuf::from);
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("bare").with_inner_size([980.0, 680.0]),
        ..Default::default()
    };
    eframe::run_native("bare", native, Box::new(move |_cc| Ok(Box::new(Bare { started, log, reported: false }))))
        .unwrap();
}
