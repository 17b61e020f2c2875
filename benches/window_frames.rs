//! Frame time of the window (issue 7, item 5): a directory of 100,000 users, each page of the scan answered in
//! 50 ms, and the preview open and scrolled while the scan runs. The window is driven headless with egui_kittest
//! (no GPU: the frame is egui's layout and the app's own work, what the app controls), through the real steps as in
//! `tests/gui.rs`; every frame's time is taken around one harness step, one frame per 16 ms for the whole scan.
//! Prints percentiles while loading, then scrolling the full table, and the avatar cache's size (avatars only for
//! rows on screen, capped).
//!
//! Run: `cargo bench --bench window_frames`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a benchmark binary: it prints its table, reads the real clock and may panic on a broken setup"
)]

mod kit;

use kit::{app, click, frame, percentiles, scroll, until};

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use mspbots_setup::app::{DemoTenant, WizardApp};
use mspbots_setup::wizard::{Consent, SignIn};

const USERS: u32 = 100_000;

fn main() {
    let dir = std::env::temp_dir().join(format!("mspbots-bench-frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("large.toml");
    std::fs::write(
        &scenario,
        format!(
            "base = \"happy\"\nname = \"frames\"\nsummary = \"100k users\"\n[directory]\ngenerated_users = {USERS}\nseed = 7\n\
             [[faults]]\nendpoint = \"graph\"\npath = \"/v1.0/users\"\nmethod = \"GET\"\ndelay_ms = 50\n"
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut h = Harness::builder()
        .with_size([1000.0, 760.0])
        .build_ui_state(|ui, app: &mut WizardApp| app.ui_body(ui), app(&rt, scenario.to_str().unwrap(), None));
    until(&mut h, "the demo tenant", |a| a.wizard().is_some());
    if let DemoTenant::Ready(sim) = &h.state().demo {
        sim.sim().set_auto_login(Some("adele.vance@contoso.com".to_owned()));
    }
    click(&mut h, "Start");
    click(&mut h, "Sign in with Microsoft…");
    until(&mut h, "sign-in", |a| a.wizard().is_some_and(|w| matches!(w.sign_in(), SignIn::Done(_))));
    // The sign-in asked for the read access too (issue 18), and the consent page comes by itself.
    until(&mut h, "the consent page", |a| a.wizard().is_some_and(|w| matches!(w.consent(), Consent::Ready { .. })));
    click(&mut h, "Grant consent…");
    until(&mut h, "the scan under way", |a| a.wizard().is_some_and(|w| w.preview().users.len() >= 1000));

    // The pointer over the table, so the wheel scrolls it.
    h.event(egui::Event::PointerMoved(egui::pos2(600.0, 560.0)));
    // While the scan runs: scroll down a page at a time, every frame timed.
    let mut loading = Vec::new();
    let scan_started = Instant::now();
    // One frame per 16 ms, as a display would ask for them, for as long as the scan runs.
    while h.state().wizard().is_some_and(|w| w.preview().is_loading()) {
        scroll(&mut h, -120.0);
        let ms = frame(&mut h);
        loading.push(ms);
        std::thread::sleep(Duration::from_secs_f64((16.0 - ms).max(0.0) / 1000.0));
    }
    let loaded_users = h.state().wizard().map_or(0, |w| w.preview().users.len());
    until(&mut h, "the whole directory", |a| a.wizard().is_some_and(|w| !w.preview().is_loading()));
    let scan = scan_started.elapsed();
    // The full table: fling to the bottom and back, every frame timed.
    let mut full = Vec::new();
    for i in 0..1200 {
        scroll(&mut h, if i < 600 { -4000.0 } else { 4000.0 });
        full.push(frame(&mut h));
    }
    let avatars = h.state().preview_state.avatars.len();

    println!("Window frames, {USERS} users, 50 ms per page of the scan (cargo bench --bench window_frames)");
    println!("{:<44} {:>8} {:>8} {:>8} {:>7} {:>8}", "", "p50 ms", "p99 ms", "max ms", "frames", "target");
    let (p50, p99, max, n) = percentiles(loading);
    println!(
        "{:<44} {p50:>8.2} {p99:>8.2} {max:>8.2} {n:>7} {:>8}",
        format!("scrolling while the scan runs ({loaded_users} users in)"),
        "p99 < 16"
    );
    let (p50, p99, max, n) = percentiles(full);
    println!("{:<44} {p50:>8.2} {p99:>8.2} {max:>8.2} {n:>7} {:>8}", "scrolling the full table", "p99 < 16");
    println!("avatars held after scrolling all {USERS} rows: {avatars} (cap 600)");
    println!("(the scan itself took {:.1} s)", scan.as_secs_f64());
    drop(h);
    std::fs::remove_dir_all(dir).unwrap();
}
