//! The Teams app package reader (uploads in the simulator, the vendor's package in the product): any bytes are an
//! archive whose names and manifest can be read, or a `ZipError`; never a panic, never an allocation the archive
//! asks for beyond the entry limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mspbots_setup::zipfile;

fuzz_target!(|data: &[u8]| {
    if let Ok(names) = zipfile::names(data) {
        for name in names.iter().take(8) {
            let _entry = zipfile::read(data, name);
        }
    }
    let _manifest = zipfile::read(data, "manifest.json");
});
