//! What users' machines get beyond the code (issue 9): the packager metadata for the macOS app and the Windows
//! installer, and, on Windows (run under Wine in CI), the program's own icon, version information and manifest.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step should panic")]

use mspbots_setup::{APP_ID, PRODUCT_NAME};

fn packager() -> toml::Table {
    let manifest: toml::Table = include_str!("../Cargo.toml").parse().unwrap();
    manifest["package"]["metadata"]["packager"].as_table().expect("[package.metadata.packager]").clone()
}

#[test]
fn the_packaged_app_is_named_and_identified_as_the_program_is() {
    let p = packager();
    assert_eq!(p["product-name"].as_str(), Some(PRODUCT_NAME));
    assert_eq!(p["identifier"].as_str(), Some(APP_ID));
    assert!(p["before-packaging-command"].as_str().unwrap().contains("cargo build --release"));
    // No version of its own: the package's, which the Windows version information carries too.
    assert!(!p.contains_key("version"));
    assert!(p["macos"]["minimum-system-version"].as_str().is_some());
}

#[test]
fn every_packaged_icon_is_there_at_the_size_its_name_says() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let packager = packager();
    let icons: Vec<&str> = packager["icons"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()).collect();
    let mut sizes = Vec::new();
    for icon in &icons {
        let bytes = std::fs::read(root.join(icon)).unwrap_or_else(|e| panic!("{icon}: {e}"));
        if let Some(name) = icon.strip_suffix(".png") {
            let picture = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).unwrap();
            let size = name.rsplit('/').next().unwrap();
            assert_eq!(format!("{}x{}", picture.width(), picture.height()), size, "{icon}");
            assert!(picture.color().has_alpha(), "{icon}: the rounded corners need transparency");
            sizes.push(picture.width());
        } else {
            assert!(icon.ends_with(".ico"), "{icon}: PNG for macOS and Linux, ICO for Windows");
            // ICONDIR: reserved 0, type 1 (icon), then one 16-byte entry per picture, width 0 meaning 256.
            assert_eq!(&bytes[..4], &[0, 0, 1, 0], "{icon}: not an icon file");
            let count = usize::from(u16::from_le_bytes([bytes[4], bytes[5]]));
            let widths: Vec<u8> = (0..count).map(|i| bytes[6 + 16 * i]).collect();
            for needed in [16, 32, 48, 0] {
                assert!(widths.contains(&needed), "{icon}: no {needed} px picture (has {widths:?})");
            }
        }
    }
    // macOS builds its .icns from these: it wants 512 px for Retina, and small ones stay sharp.
    assert!(sizes.contains(&512) && sizes.contains(&32), "{sizes:?}");
}

/// The program's resources, read the way Explorer reads them.
#[cfg(windows)]
#[test]
#[expect(unsafe_code, reason = "reading an executable's resources takes Win32 calls")]
fn the_windows_program_carries_its_icon_version_and_manifest() {
    use std::ffi::c_void;
    use std::ptr::null_mut;

    use windows_sys::Win32::Foundation::FreeLibrary;
    use windows_sys::Win32::Storage::FileSystem::{GetFileVersionInfoSizeW, GetFileVersionInfoW, VerQueryValueW};
    use windows_sys::Win32::System::LibraryLoader::{FindResourceW, LOAD_LIBRARY_AS_DATAFILE, LoadLibraryExW};

    let wide = |s: &str| s.encode_utf16().chain([0]).collect::<Vec<u16>>();
    let exe = wide(env!("CARGO_BIN_EXE_mspbots-setup"));
    // SAFETY: every pointer passed is to a live, NUL-terminated or correctly sized buffer owned here; what
    // VerQueryValueW returns points into `data`, which outlives its use.
    unsafe {
        let size = GetFileVersionInfoSizeW(exe.as_ptr(), null_mut());
        assert!(size > 0, "the program has no version information");
        let mut data = vec![0_u8; size as usize];
        assert_ne!(GetFileVersionInfoW(exe.as_ptr(), 0, size, data.as_mut_ptr().cast()), 0);
        let value = |name: &str| -> String {
            let key = wide(&format!("\\StringFileInfo\\040904b0\\{name}"));
            let (mut found, mut len): (*mut c_void, u32) = (null_mut(), 0);
            let ok = VerQueryValueW(data.as_ptr().cast(), key.as_ptr(), &mut found, &mut len);
            assert!(ok != 0 && len > 0, "no {name} in the version information");
            let chars = std::slice::from_raw_parts(found as *const u16, len as usize);
            String::from_utf16_lossy(chars).trim_end_matches('\0').to_owned()
        };
        assert_eq!(value("ProductName"), PRODUCT_NAME);
        assert_eq!(value("FileDescription"), PRODUCT_NAME);
        assert_eq!(value("ProductVersion"), env!("CARGO_PKG_VERSION"));
        assert_eq!(value("OriginalFilename"), "mspbots-setup.exe");

        let module = LoadLibraryExW(exe.as_ptr(), null_mut(), LOAD_LIBRARY_AS_DATAFILE);
        assert!(!module.is_null(), "the program cannot be opened for its resources");
        const RT_GROUP_ICON: usize = 14;
        const RT_MANIFEST: usize = 24;
        // MAKEINTRESOURCE: a resource id or type number in place of a name.
        let id = std::ptr::without_provenance::<u16>;
        let resource = |kind: usize| !FindResourceW(module, id(1), id(kind)).is_null();
        assert!(resource(RT_GROUP_ICON), "no icon");
        assert!(resource(RT_MANIFEST), "no application manifest");
        FreeLibrary(module);
    }
}

/// scripts/windows.sh runs only some test binaries under Wine; a test file with code of its own for an OS must be
/// among them, or that code would never run on Windows.
#[test]
fn every_test_with_code_per_os_runs_under_wine() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("scripts/windows.sh")).unwrap();
    let line = script.lines().find(|l| l.starts_with("tests=(")).expect("the tests=(...) line of scripts/windows.sh");
    let listed: Vec<&str> = line.trim_start_matches("tests=(").trim_end_matches(')').split_whitespace().collect();
    let mut unlisted = Vec::new();
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        let (Some(stem), Some("rs")) =
            (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|e| e.to_str()))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let per_os = ["cfg(windows", "cfg(unix", "cfg(not(windows", "cfg(not(unix", "cfg(target_os"]
            .iter()
            .any(|c| text.contains(c));
        if per_os && !listed.contains(&stem) {
            unlisted.push(stem.to_owned());
        }
    }
    assert!(unlisted.is_empty(), "test files with per-OS code not run under Wine by scripts/windows.sh: {unlisted:?}");
    for name in &listed {
        assert!(
            root.join("tests").join(format!("{name}.rs")).exists(),
            "scripts/windows.sh names tests/{name}.rs, which is not there"
        );
    }
}
