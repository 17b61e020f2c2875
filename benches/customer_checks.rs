//! Checking a partner's customers in their own tenants (issue 19): 500 simulated customers, each a full tenant
//! whose every answer takes 50 ms and whose Graph throttles its first read of the vendor's app once (429 with a
//! Retry-After), checked side by side as the board does (the wizard's pacing) against one after another, in the
//! same window session. Counts, from what the simulated tenants recorded, that every customer was read, none twice,
//! and every throttled read waited and was answered; times the board's frames while the check runs.
//!
//! Run: `cargo bench --bench customer_checks`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a benchmark binary: it prints its table, reads the real clock and may panic on a broken setup"
)]

mod kit;

use kit::{click, frame, partner_signing_in, percentiles, until};

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use egui_kittest::Harness;
use mspbots_setup::app::{DemoTenant, WizardApp};
use mspbots_setup::wizard::board::Board;
use mspbots_setup::wizard::customer_checks::CustomerStatus;

/// How many customers (`CUSTOMERS` in the environment for a quicker try).
fn customers() -> u32 {
    std::env::var("CUSTOMERS").ok().and_then(|n| n.parse().ok()).unwrap_or(500)
}
const AGENT: &str = "lynne.robbins@northwindmsp.com";
const SP_PATH: &str = "/v1.0/servicePrincipals";

fn scenario() -> String {
    let customers = customers();
    let delay = |endpoint: &str| format!("[[partner.generated_faults]]\nendpoint = \"{endpoint}\"\ndelay_ms = 50\n");
    format!(
        "base = \"msp-partner\"\nname = \"checks\"\nsummary = \"{customers} customers\"\n[partner]\n\
         generated_customers = {customers}\ngenerated_tenant = \"happy\"\ngenerated_approved = [\"signin\", \"consent\"]\n\
         [[partner.generated_faults]]\nendpoint = \"graph\"\npath = \"{SP_PATH}\"\nstatus = 429\n\
         retry_after_secs = 0.2\ncount = 1\n{}{}{}{}",
        delay("graph"),
        delay("token"),
        delay("discovery"),
        delay("teams-admin"),
    )
}

/// Runs a check of every customer with `at_once` customers side by side; returns how long it took, the frame
/// times meanwhile and how many customers were checked.
fn check(h: &mut Harness<'static, WizardApp>, at_once: usize) -> (Duration, Vec<f64>, usize) {
    h.state_mut().driver.as_mut().unwrap().wizard.timing_mut().customers_at_once = at_once;
    click(h, "Check every customer's tenant");
    let started = Instant::now();
    let mut frames = Vec::new();
    while h.state().wizard().unwrap().customer_checks().running.is_some() {
        let ms = frame(h);
        frames.push(ms);
        std::thread::sleep(Duration::from_secs_f64((16.0 - ms).max(0.0) / 1000.0));
        assert!(started.elapsed() < Duration::from_secs(900), "the check did not finish");
    }
    let took = started.elapsed();
    let checks = h.state().wizard().unwrap().customer_checks();
    let failed: Vec<&String> =
        checks.by_tenant.iter().filter(|(_, s)| !matches!(s, CustomerStatus::Checked(_))).map(|(t, _)| t).collect();
    assert!(failed.is_empty(), "customers not checked: {failed:?}");
    (took, frames, checks.by_tenant.len())
}

/// The tenant a recorded request's token is for.
fn tenant_of(bearer: Option<&str>) -> Option<String> {
    let payload = bearer?.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims["tid"].as_str().map(str::to_owned)
}

fn main() {
    let dir = std::env::temp_dir().join(format!("mspbots-bench-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("partner.toml");
    std::fs::write(&file, scenario()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut h = partner_signing_in(&rt, file.to_str().unwrap(), AGENT);
    until(&mut h, "the board", |a| a.wizard().is_some_and(|w| matches!(w.board(), Board::Loaded { .. })));
    let DemoTenant::Ready(tenant) = &h.state().demo else { panic!("no demo tenant") };
    let before = tenant.sim().requests().len();

    let pacing = h.state().wizard().unwrap().settings().timing.customers_at_once;
    let (side_by_side, frames, checked) = check(&mut h, pacing);
    let DemoTenant::Ready(tenant) = &h.state().demo else { panic!("no demo tenant") };
    let requests = tenant.sim().requests();
    let mut reads: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for r in requests[before..].iter().filter(|r| r.path == SP_PATH && !r.via_batch) {
        let entry = reads.entry(tenant_of(r.bearer.as_deref()).unwrap_or_default()).or_default();
        if r.status == 429 { entry.0 += 1 } else { entry.1 += 1 }
    }
    let throttled = reads.values().map(|(t, _)| *t).sum::<u32>();
    assert_eq!(reads.len(), checked, "every customer checked read its app");
    assert!(
        reads.values().all(|(t, ok)| *t <= 1 && *ok == 1),
        "each read answered once, after one 429 at most: {reads:?}"
    );
    assert!(throttled > 0, "the generated customers' first reads were throttled");

    let (one_by_one, _, again) = check(&mut h, 1);
    assert_eq!(again, checked, "the same customers both ways");

    println!("Customers checked in their own tenants (cargo bench --bench customer_checks)");
    println!(
        "{checked} customers with roles ({} generated: every answer 50 ms, the app's first read throttled once)",
        customers()
    );
    println!("{:<40} {:>10} {:>8}", "", "seconds", "ratio");
    println!("{:<40} {:>10.1} {:>8}", "one after another", one_by_one.as_secs_f64(), "1.0×");
    println!(
        "{:<40} {:>10.1} {:>7.1}×   target ≥ 10×",
        format!("side by side ({pacing} at once)"),
        side_by_side.as_secs_f64(),
        one_by_one.as_secs_f64() / side_by_side.as_secs_f64()
    );
    println!("throttled reads answered after waiting: {throttled} of {throttled}; customers read twice: 0; lost: 0");
    let (p50, p99, max, n) = percentiles(frames);
    println!(
        "board frames while checking: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms ({n} frames; target p99 < 16)"
    );
    drop(h);
    std::fs::remove_dir_all(dir).unwrap();
}
