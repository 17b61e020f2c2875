//! The vendor's Teams app package: a zip with `manifest.json` and two icons. The profile names a zip, a folder
//! (zipped here), or the demo package compiled into the binary (`builtin:mspbots-demo`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::wizard::{Failure, PackageInfo};

/// The demo package's name in a profile.
pub const BUILTIN_DEMO: &str = "builtin:mspbots-demo";

const DEMO_MANIFEST: &[u8] = include_bytes!("../../assets/teams/mspbots-demo/manifest.json");
const DEMO_COLOR: &[u8] = include_bytes!("../../assets/teams/mspbots-demo/color.png");
const DEMO_OUTLINE: &[u8] = include_bytes!("../../assets/teams/mspbots-demo/outline.png");

/// Where the package comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageSource {
    /// The demo package compiled into the binary.
    BuiltinDemo,
    /// A zip file, or a folder holding `manifest.json` and the icons it names.
    Path(PathBuf),
}

impl PackageSource {
    /// The source a profile's `teams_app.package` names, resolved against the profile's folder.
    pub fn from_profile(package: &str, profile_dir: Option<&Path>) -> Option<Self> {
        let package = package.trim();
        if package.is_empty() {
            return None;
        }
        if package == BUILTIN_DEMO {
            return Some(Self::BuiltinDemo);
        }
        let path = Path::new(package);
        Some(Self::Path(match profile_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_owned(),
        }))
    }
}

/// A package ready to upload.
#[derive(Debug, Clone)]
pub struct AppPackage {
    pub zip: Vec<u8>,
    pub info: PackageInfo,
}

fn unreadable(what: impl Into<String>) -> Failure {
    Failure::Parse { what: "the vendor's Teams app package".into(), excerpt: what.into() }
}

/// Reads the package (zipping a folder); a missing file or a manifest without id or version is a clear failure.
pub fn load(source: &PackageSource) -> Result<AppPackage, Failure> {
    let zip = match source {
        PackageSource::BuiltinDemo => crate::zipfile::write(&[
            ("manifest.json", DEMO_MANIFEST),
            ("color.png", DEMO_COLOR),
            ("outline.png", DEMO_OUTLINE),
        ]),
        PackageSource::Path(path) if path.is_dir() => zip_folder(path)?,
        PackageSource::Path(path) => {
            std::fs::read(path).map_err(|e| unreadable(format!("cannot read {}: {e}", path.display())))?
        }
    };
    let info = manifest_info(&zip)?;
    Ok(AppPackage { zip, info })
}

/// Zips `manifest.json` and the icons it names from `dir`.
fn zip_folder(dir: &Path) -> Result<Vec<u8>, Failure> {
    let read = |name: &str| {
        std::fs::read(dir.join(name)).map_err(|e| unreadable(format!("cannot read {}: {e}", dir.join(name).display())))
    };
    let manifest = read("manifest.json")?;
    let m: Value = serde_json::from_slice(&manifest).map_err(|e| unreadable(format!("manifest.json: {e}")))?;
    let icon = |k: &str| m.get("icons").and_then(|i| i.get(k)).and_then(Value::as_str).map(str::to_owned);
    let mut files: Vec<(String, Vec<u8>)> = vec![("manifest.json".to_owned(), manifest.clone())];
    for name in [icon("color"), icon("outline")].into_iter().flatten() {
        if name.contains("..") || Path::new(&name).is_absolute() {
            return Err(unreadable(format!("icon path '{name}' leaves the package folder")));
        }
        let bytes = read(&name)?;
        files.push((name, bytes));
    }
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    Ok(crate::zipfile::write(&refs))
}

/// The manifest id and version of a package.
pub fn manifest_info(zip: &[u8]) -> Result<PackageInfo, Failure> {
    let manifest = crate::zipfile::read(zip, "manifest.json")
        .map_err(|e| unreadable(e.to_string()))?
        .ok_or_else(|| unreadable("no manifest.json in the package"))?;
    let m: Value = serde_json::from_slice(&manifest).map_err(|e| unreadable(format!("manifest.json: {e}")))?;
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    match (text("id"), text("version")) {
        (Some(manifest_id), Some(version)) => Ok(PackageInfo { manifest_id, version }),
        _ => Err(unreadable("manifest.json has no id or no version")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "demo")]
    #[test]
    fn the_demo_package_is_a_valid_zip_with_its_manifest() {
        let p = load(&PackageSource::BuiltinDemo).unwrap();
        assert_eq!(p.info.manifest_id, crate::sim::teams::DEMO_APP_ID);
        assert_eq!(p.info.version, "1.4.0");
        assert_eq!(crate::zipfile::names(&p.zip).unwrap(), ["manifest.json", "color.png", "outline.png"]);
    }

    #[test]
    fn folders_are_zipped_and_broken_packages_explained() {
        let dir = std::env::temp_dir().join(format!("mspbots-pkg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("manifest.json"),
            br#"{"id":"abc","version":"2.0.0","icons":{"color":"c.png","outline":"o.png"}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("c.png"), b"c").unwrap();
        std::fs::write(dir.join("o.png"), b"o").unwrap();
        let p = load(&PackageSource::Path(dir.clone())).unwrap();
        assert_eq!((p.info.manifest_id.as_str(), p.info.version.as_str()), ("abc", "2.0.0"));
        std::fs::remove_file(dir.join("o.png")).unwrap();
        assert!(
            matches!(load(&PackageSource::Path(dir.clone())), Err(Failure::Parse { excerpt, .. }) if excerpt.contains("o.png"))
        );
        std::fs::write(dir.join("manifest.json"), br#"{"icons":{"color":"../../etc/passwd"}}"#).unwrap();
        assert!(load(&PackageSource::Path(dir.clone())).is_err());
        assert!(matches!(load(&PackageSource::Path(dir.join("nope.zip"))), Err(Failure::Parse { .. })));
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(PackageSource::from_profile(" ", None), None);
        assert_eq!(
            PackageSource::from_profile("teams/app.zip", Some(Path::new("/p"))),
            Some(PackageSource::Path(PathBuf::from("/p/teams/app.zip")))
        );
    }
}
