//! The window does no file or bundle work on its UI thread: reading or writing files, building, serializing or
//! rendering a diagnostics bundle, and resolving a launch (which reads the profile, scenario or bundle) all go to
//! the shell's background work (`shell/files.rs`) or happen before the window opens. This reads the window's
//! source and fails when such a call comes back.
#![allow(clippy::unwrap_used, reason = "test code: a failed step should panic")]

/// Calls that read or write files, or build, serialize or render a bundle.
const ON_THE_UI_THREAD_NEVER: &[&str] = &[
    "std::fs::",
    "fs::read",
    "fs::write",
    "File::open",
    "File::create",
    "Bundle::load",
    "Bundle::build",
    "Bundle::from_record",
    "Bundle::from_slice",
    "write_with_report",
    "Launch::resolve",
    "to_vec_pretty",
    "to_string_pretty",
    ".html()",
    "load_progress",
];

/// The one file exempt: the benchmarks' frame log, off unless `MSPBOTS_SETUP_FRAME_LOG` asks for it, opened once
/// and buffered.
const EXEMPT: &[&str] = &["frame_timer.rs"];

/// A line may carry `// ui-thread: REASON` where the work is tiny and said why; there are at most this many.
const MARKED_AT_MOST: usize = 2;

#[test]
fn the_window_does_no_file_or_bundle_work() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/app");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 5, "the window's files: {files:?}");
    let mut found = Vec::new();
    let mut marked = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if EXEMPT.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        // Tests at the end of a file run on no UI thread.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            if let Some((_, reason)) = line.split_once("// ui-thread:") {
                assert!(reason.trim().len() > 10, "src/app/{name}:{}: say why it may stay", n + 1);
                marked.push(format!("src/app/{name}:{}", n + 1));
                continue;
            }
            for call in ON_THE_UI_THREAD_NEVER {
                if line.contains(call) {
                    found.push(format!("src/app/{name}:{}: {call}", n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "file or bundle work on the UI thread:\n{}", found.join("\n"));
    assert!(marked.len() <= MARKED_AT_MOST, "more work marked as fine on the UI thread than before: {marked:?}");
}
