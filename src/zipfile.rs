//! Teams app packages are zip archives: this reads one file out of one (the central directory, then the entry,
//! stored or deflated) and writes a small one (stored entries). Enough for app packages; not a general zip library.
//! A leaf module: the simulator (reading uploads) and the product (building and reading packages) both use it.

use std::io::Read as _;

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("not a zip archive (no end of central directory)")]
    NotZip,
    #[error("the archive is cut short")]
    Truncated,
    #[error("entry '{0}' uses compression method {1}, which is not supported")]
    Method(String, u16),
    #[error("entry '{0}' does not inflate: {1}")]
    Inflate(String, String),
}

fn u16_at(b: &[u8], i: usize) -> Result<u16, ZipError> {
    b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or(ZipError::Truncated)
}

fn u32_at(b: &[u8], i: usize) -> Result<u32, ZipError> {
    b.get(i..i + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok_or(ZipError::Truncated)
}

/// The names of the archive's entries.
pub fn names(archive: &[u8]) -> Result<Vec<String>, ZipError> {
    Ok(entries(archive)?.into_iter().map(|e| e.name).collect())
}

/// The contents of `name` (case-insensitive), or `None` when the archive has no such entry.
pub fn read(archive: &[u8], name: &str) -> Result<Option<Vec<u8>>, ZipError> {
    let Some(e) = entries(archive)?.into_iter().find(|e| e.name.eq_ignore_ascii_case(name)) else {
        return Ok(None);
    };
    let local = e.local_offset;
    if u32_at(archive, local)? != 0x0403_4b50 {
        return Err(ZipError::Truncated);
    }
    let start = local + 30 + usize::from(u16_at(archive, local + 26)?) + usize::from(u16_at(archive, local + 28)?);
    let data = archive.get(start..start + e.compressed).ok_or(ZipError::Truncated)?;
    match e.method {
        0 => Ok(Some(data.to_vec())),
        8 => {
            let mut out = Vec::with_capacity(e.size);
            flate2::read::DeflateDecoder::new(data)
                .take(64 * 1024 * 1024)
                .read_to_end(&mut out)
                .map_err(|err| ZipError::Inflate(e.name.clone(), err.to_string()))?;
            Ok(Some(out))
        }
        m => Err(ZipError::Method(e.name, m)),
    }
}

struct Entry {
    name: String,
    method: u16,
    compressed: usize,
    size: usize,
    local_offset: usize,
}

fn entries(b: &[u8]) -> Result<Vec<Entry>, ZipError> {
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
    let from = b.len().saturating_sub(22 + 65_535);
    let eocd = (from..b.len().saturating_sub(21))
        .rev()
        .find(|&i| b[i..].starts_with(&[0x50, 0x4b, 0x05, 0x06]))
        .ok_or(ZipError::NotZip)?;
    let count = usize::from(u16_at(b, eocd + 10)?);
    let mut at = u32_at(b, eocd + 16)? as usize;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        if u32_at(b, at)? != 0x0201_4b50 {
            return Err(ZipError::Truncated);
        }
        let name_len = usize::from(u16_at(b, at + 28)?);
        let extra = usize::from(u16_at(b, at + 30)?);
        let comment = usize::from(u16_at(b, at + 32)?);
        let name = b.get(at + 46..at + 46 + name_len).ok_or(ZipError::Truncated)?;
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method: u16_at(b, at + 10)?,
            compressed: u32_at(b, at + 20)? as usize,
            size: u32_at(b, at + 24)? as usize,
            local_offset: u32_at(b, at + 42)? as usize,
        });
        at += 46 + name_len + extra + comment;
    }
    Ok(out)
}

/// A zip archive of `files` (name, bytes), stored without compression (icons and JSON are small).
pub fn write(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let crc = crc32fast::hash(data);
        let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let size = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let name_len = u16::try_from(name.len()).unwrap_or(u16::MAX);
        // Local file header: version 2.0, no flags, stored, a fixed DOS time (1 Jan 2024) so builds are identical.
        out.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0x58]);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0x58]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&[0; 8]);
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_at = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let central_len = u32::try_from(central.len()).unwrap_or(u32::MAX);
    let count = u16::try_from(files.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn written_archives_read_back() {
        let zip = write(&[("manifest.json", b"{\"id\":1}"), ("color.png", &[1, 2, 3])]);
        assert_eq!(names(&zip).unwrap(), ["manifest.json", "color.png"]);
        assert_eq!(read(&zip, "MANIFEST.json").unwrap().unwrap(), b"{\"id\":1}");
        assert_eq!(read(&zip, "outline.png").unwrap(), None);
    }

    #[test]
    fn deflated_entries_and_broken_archives() {
        // A deflated entry, as zip tools write most files.
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&[b'a'; 500]).unwrap();
        let deflated = enc.finish().unwrap();
        let mut zip = write(&[("a.txt", &deflated)]);
        zip[8] = 8; // local header: method deflate
        let central = zip.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).unwrap();
        zip[central + 10] = 8;
        let size = 500u32.to_le_bytes();
        zip[central + 24..central + 28].copy_from_slice(&size);
        assert_eq!(read(&zip, "a.txt").unwrap().unwrap(), vec![b'a'; 500]);
        assert!(matches!(read(b"not a zip at all", "a"), Err(ZipError::NotZip)));
        let cut = &zip[..zip.len() - 30];
        assert!(read(cut, "a.txt").is_err());
    }
}
