//! Frame time of the partner's board (issue 19): a partner with 500 GDAP customers whose Graph answers each take
//! 50 ms, driven headless with egui_kittest through the partner's sign-in; every frame is timed while the board is
//! read (the relationships 300 a page, access assignments and discovery documents 8 at a time), then while the
//! full board is scrolled, searched and filtered. Prints percentiles and how long the read took.
//!
//! Run: `cargo bench --bench board_frames`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a benchmark binary: it prints its table, reads the real clock and may panic on a broken setup"
)]

mod kit;

use kit::{frame, partner_signing_in, percentiles, scroll, until};

use std::time::{Duration, Instant};

use mspbots_setup::app::WizardApp;
use mspbots_setup::wizard::board::Board;

const CUSTOMERS: u32 = 500;
/// The simulated partner's admin agent in the mapped groups.
const AGENT: &str = "lynne.robbins@northwindmsp.com";

fn loaded(a: &WizardApp) -> bool {
    a.wizard().is_some_and(|w| matches!(w.board(), Board::Loaded { .. }))
}

fn main() {
    let dir = std::env::temp_dir().join(format!("mspbots-bench-board-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("partner.toml");
    std::fs::write(
        &scenario,
        format!(
            "base = \"msp-partner\"\nname = \"board\"\nsummary = \"{CUSTOMERS} customers\"\n[partner]\n\
             generated_customers = {CUSTOMERS}\n[[faults]]\nendpoint = \"graph\"\npath = \"/v1.0/tenantRelationships\"\n\
             delay_ms = 50\n"
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut h = partner_signing_in(&rt, scenario.to_str().unwrap(), AGENT);
    until(&mut h, "the read under way", |a| a.wizard().is_some_and(|w| matches!(w.board(), Board::Loading { .. })));

    // One frame per 16 ms, as a display would ask for them, for as long as the read runs.
    let mut reading = Vec::new();
    let read_started = Instant::now();
    while !loaded(h.state()) {
        let ms = frame(&mut h);
        reading.push(ms);
        std::thread::sleep(Duration::from_secs_f64((16.0 - ms).max(0.0) / 1000.0));
        assert!(read_started.elapsed() < Duration::from_secs(120), "the board did not load");
    }
    let read = read_started.elapsed();
    let rows = h.state().wizard().and_then(|w| w.board().data()).map_or(0, |d| d.customers.len());

    // The full board: fling the table down and back, then type a search and clear it, then the filter.
    h.event(egui::Event::PointerMoved(egui::pos2(500.0, 400.0)));
    let mut browsing = Vec::new();
    for i in 0..600 {
        scroll(&mut h, if i < 300 { -2000.0 } else { 2000.0 });
        browsing.push(frame(&mut h));
    }
    for text in ["Customer 04", ""] {
        h.state_mut().board_view.search = text.to_owned();
        for _ in 0..50 {
            browsing.push(frame(&mut h));
        }
    }
    h.state_mut().board_view.needs_action_only = true;
    for _ in 0..50 {
        browsing.push(frame(&mut h));
    }

    println!("Board frames, {CUSTOMERS} customers, 50 ms per Graph answer (cargo bench --bench board_frames)");
    println!("{:<44} {:>8} {:>8} {:>8} {:>7} {:>8}", "", "p50 ms", "p99 ms", "max ms", "frames", "target");
    let (p50, p99, max, n) = percentiles(reading);
    println!("{:<44} {p50:>8.2} {p99:>8.2} {max:>8.2} {n:>7} {:>8}", "while the board is read", "p99 < 16");
    let (p50, p99, max, n) = percentiles(browsing);
    println!("{:<44} {p50:>8.2} {p99:>8.2} {max:>8.2} {n:>7} {:>8}", "scrolling, searching, filtering", "p99 < 16");
    println!("(the read of {rows} customers took {:.1} s)", read.as_secs_f64());
    drop(h);
    std::fs::remove_dir_all(dir).unwrap();
}
