//! The shell: runs background work on the one tokio runtime and reports results over a bounded channel, then asks
//! egui to repaint (STYLE rules 6-7). It holds no UI state and never blocks the UI thread.

use tokio::sync::mpsc;

use crate::sim::{Scenario, Sim, SimConfig, SimError};

/// A finished piece of background work.
#[derive(Debug)]
pub enum Report {
    /// The in-process demo tenant is serving (or could not start).
    DemoTenant(Result<Sim, SimError>),
}

/// Something that can wake the UI after a report (egui's `Context::request_repaint` in the app, a no-op in tests).
pub trait Waker: Send + Sync + 'static {
    fn wake(&self);
}

impl Waker for egui::Context {
    fn wake(&self) {
        self.request_repaint();
    }
}

/// Runs effects; the app drains [`Shell::drain`] once per frame.
#[derive(Debug)]
pub struct Shell {
    runtime: tokio::runtime::Handle,
    sender: mpsc::Sender<Report>,
    receiver: mpsc::Receiver<Report>,
}

/// Reports waiting at once; the UI drains every frame, so this is never reached in practice.
const REPORT_CAPACITY: usize = 64;

impl Shell {
    /// A shell on `runtime`.
    pub fn new(runtime: tokio::runtime::Handle) -> Self {
        let (sender, receiver) = mpsc::channel(REPORT_CAPACITY);
        Self { runtime, sender, receiver }
    }

    /// Starts the simulated tenant in the background.
    pub fn start_demo_tenant(&self, scenario: Scenario, waker: impl Waker) {
        let sender = self.sender.clone();
        self.runtime.spawn(async move {
            let result = Sim::start(SimConfig::new(scenario)).await;
            // The app has closed when the receiver is gone; the demo tenant is then dropped with the report.
            if sender.send(Report::DemoTenant(result)).await.is_ok() {
                waker.wake();
            }
        });
    }

    /// Reports that arrived since the last call.
    pub fn drain(&mut self) -> Vec<Report> {
        let mut out = Vec::new();
        while let Ok(report) = self.receiver.try_recv() {
            out.push(report);
        }
        out
    }
}
