//! The window's own frame timer, for benchmarks: when asked (`MSPBOTS_SETUP_FRAME_LOG=FILE`, read once in `main`)
//! it writes the time from process start to the first frame, then each frame's CPU time as eframe measured it.
//! Off by default; nothing is measured or written then.

use std::io::Write as _;

/// Writes frame times to a file, if one was given.
#[derive(Debug, Default)]
pub struct FrameTimer {
    out: Option<std::io::BufWriter<std::fs::File>>,
    started: Option<crate::clock::Clock>,
    first_reported: bool,
}

impl FrameTimer {
    /// A timer writing to `path` (none: a timer that does nothing). `started` is the clock started first thing in
    /// `main`.
    pub fn new(path: Option<&std::path::Path>, started: crate::clock::Clock) -> Self {
        let out = path.and_then(|p| match std::fs::File::create(p) {
            Ok(f) => Some(std::io::BufWriter::new(f)),
            Err(e) => {
                tracing::warn!("no frame log at {}: {e}", p.display());
                None
            }
        });
        Self { out, started: Some(started), first_reported: false }
    }

    /// Called once per frame with eframe's CPU time of the previous frame.
    pub fn frame(&mut self, previous_cpu_secs: Option<f32>) {
        let Some(out) = &mut self.out else { return };
        if !self.first_reported {
            self.first_reported = true;
            let ms = self.started.as_ref().map_or(0, crate::clock::Clock::elapsed_ms);
            // Flushed at once: a benchmark waits for this line.
            let _reported = writeln!(out, "first_frame_ms {ms}").and_then(|()| out.flush());
        } else if let Some(cpu) = previous_cpu_secs {
            let _reported = writeln!(out, "frame_ms {:.3}", cpu * 1000.0);
        }
    }
}
