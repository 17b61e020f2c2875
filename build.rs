//! Build script: on Windows targets, the program's resources: its icon (Explorer, the taskbar, shortcuts), its
//! version information (the file's Properties, and what support reads off an admin's machine) and an application
//! manifest (per-monitor DPI awareness, so text follows the display's scale setting; Windows 10 and later). GNU
//! targets compile them with windres (`x86_64-w64-mingw32-windres` from Debian's mingw-w64, or `$WINDRES`), MSVC
//! targets with rc.exe. Other targets get nothing; their packager adds the icon (Cargo.toml, README "Platforms").

use std::path::{Path, PathBuf};
use std::process::Command;

/// What Windows shows as the product and company; the same names as the window title and the packager metadata
/// (tests/platforms.rs checks that they agree).
const PRODUCT_NAME: &str = "MSPbots setup";
const COMPANY_NAME: &str = "MSPbots";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=assets/icons/mspbots-setup.ico");
    println!("cargo:rerun-if-env-changed=WINDRES");
    if env("CARGO_CFG_TARGET_OS") != "windows" {
        return;
    }
    let out = PathBuf::from(env("OUT_DIR"));
    let icon = Path::new(&env("CARGO_MANIFEST_DIR")).join("assets").join("icons").join("mspbots-setup.ico");
    let manifest = out.join("mspbots-setup.manifest");
    let script = out.join("mspbots-setup.rc");
    write(&manifest, MANIFEST);
    write(&script, &resource_script(&icon, &manifest, &env("CARGO_PKG_VERSION")));

    if env("CARGO_CFG_TARGET_ENV") == "msvc" {
        let res = out.join("mspbots-setup.res");
        let mut rc = Command::new("rc.exe");
        rc.args(["/nologo", "/fo"]).arg(&res).arg(&script);
        match rc.status() {
            Ok(status) if status.success() => println!("cargo:rustc-link-arg-bins={}", res.display()),
            // Outside a Visual Studio developer prompt rc.exe is not on PATH: build, but say what is missing.
            other => println!(
                "cargo:warning=no icon or version information: rc.exe did not run ({other:?}); build from a Visual \
                 Studio developer prompt to include them"
            ),
        }
        return;
    }
    let windres = std::env::var("WINDRES").unwrap_or_else(|_| {
        let prefixed = format!("{}-w64-mingw32-windres", env("CARGO_CFG_TARGET_ARCH"));
        if cfg!(windows) && Command::new(&prefixed).arg("--version").output().is_err() {
            "windres".to_owned() // MSYS2 names it without the prefix
        } else {
            prefixed
        }
    });
    let object = out.join("mspbots-setup-resources.o");
    let status = Command::new(&windres)
        .args(["--input-format=rc", "--output-format=coff", "--input"])
        .arg(&script)
        .arg("--output")
        .arg(&object)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {windres} ({e}): install mingw-w64's binutils (Debian: gcc-mingw-w64-x86-64) or set WINDRES"
            )
        });
    assert!(status.success(), "{windres} could not compile {}", script.display());
    // An object, not a library: a linker keeps all of an object, but would drop an archive member nothing refers to.
    println!("cargo:rustc-link-arg-bins={}", object.display());
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The resource script: icon 1 (the one Explorer shows), the manifest, and a VERSIONINFO from Cargo's version.
fn resource_script(icon: &Path, manifest: &Path, version: &str) -> String {
    let mut parts = version.split(['.', '-', '+']).map(|p| p.parse::<u16>().unwrap_or(0));
    let numbers: Vec<u16> = (0..4).map(|_| parts.next().unwrap_or(0)).collect();
    let numbers = format!("{},{},{},{}", numbers[0], numbers[1], numbers[2], numbers[3]);
    // Resource compilers read string literals with C escapes: double the backslashes of a Windows path.
    let quoted = |p: &Path| format!("\"{}\"", p.display().to_string().replace('\\', "\\\\"));
    format!(
        r#"1 ICON {icon}
1 24 {manifest}
1 VERSIONINFO
FILEVERSION {numbers}
PRODUCTVERSION {numbers}
FILEFLAGSMASK 0x3f
FILEFLAGS 0x0
FILEOS 0x40004
FILETYPE 0x1
FILESUBTYPE 0x0
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904b0"
    BEGIN
      VALUE "CompanyName", "{COMPANY_NAME}"
      VALUE "FileDescription", "{PRODUCT_NAME}"
      VALUE "FileVersion", "{version}"
      VALUE "InternalName", "mspbots-setup"
      VALUE "OriginalFilename", "mspbots-setup.exe"
      VALUE "ProductName", "{PRODUCT_NAME}"
      VALUE "ProductVersion", "{version}"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
"#,
        icon = quoted(icon),
        manifest = quoted(manifest),
    )
}

/// Windows 10 and 11, per-monitor DPI awareness (v2, else v1), and the modern common controls for system dialogs.
const MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<assembly xmlns="urn:schemas-microsoft-com:asm.v1" manifestVersion="1.0">
  <assemblyIdentity type="win32" name="MSPbots.Setup" version="1.0.0.0"/>
  <compatibility xmlns="urn:schemas-microsoft-com:compatibility.v1">
    <application>
      <supportedOS Id="{8e0f7a12-bfb3-4fe8-b9a5-48fd50a15a9a}"/>
    </application>
  </compatibility>
  <application xmlns="urn:schemas-microsoft-com:asm.v3">
    <windowsSettings>
      <dpiAware xmlns="http://schemas.microsoft.com/SMI/2005/WindowsSettings">true/pm</dpiAware>
      <dpiAwareness xmlns="http://schemas.microsoft.com/SMI/2016/WindowsSettings">PerMonitorV2, PerMonitor</dpiAwareness>
    </windowsSettings>
  </application>
  <dependency>
    <dependentAssembly>
      <assemblyIdentity type="win32" name="Microsoft.Windows.Common-Controls" version="6.0.0.0"
        processorArchitecture="*" publicKeyToken="6595b64144ccf1df" language="*"/>
    </dependentAssembly>
  </dependency>
</assembly>
"#;
