//! Teams app packages are zip archives: this reads one file out of one and writes a small one, through the `zip`
//! crate (stored and deflated entries, CRC-32 checked on every read). A leaf module: the simulator (reading
//! uploads) and the product (building and reading packages) both use it.

use std::io::{Cursor, Read as _, Write as _};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// The most one entry may inflate to. Teams takes packages of a few icons and a manifest (its own limit for the
/// whole upload is far below this); anything larger is refused instead of read into memory.
const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    #[error("not a zip archive, or a broken one: {0}")]
    Archive(String),
    #[error("entry '{name}' is larger than {MAX_ENTRY_BYTES} bytes")]
    TooLarge { name: String },
    #[error("entry '{name}' cannot be read: {detail}")]
    Entry { name: String, detail: String },
}

fn archive(bytes: &[u8]) -> Result<ZipArchive<Cursor<&[u8]>>, ZipError> {
    ZipArchive::new(Cursor::new(bytes)).map_err(|e| ZipError::Archive(e.to_string()))
}

/// The names of the archive's entries, in the archive's order.
pub fn names(bytes: &[u8]) -> Result<Vec<String>, ZipError> {
    let zip = archive(bytes)?;
    zip.file_names().map(|n| n.map(|n| n.into_owned()).map_err(|e| ZipError::Archive(e.to_string()))).collect()
}

/// The contents of `name` (case-insensitive), or `None` when the archive has no such entry. The entry's CRC-32
/// is checked; an entry that inflates past 16 MiB is refused.
pub fn read(bytes: &[u8], name: &str) -> Result<Option<Vec<u8>>, ZipError> {
    let mut zip = archive(bytes)?;
    let same = |i: usize| zip.name_for_index(i).and_then(Result::ok).is_some_and(|n| n.eq_ignore_ascii_case(name));
    let Some(index) = (0..zip.len()).find(|&i| same(i)) else {
        return Ok(None);
    };
    let entry_error = |detail: String| ZipError::Entry { name: name.to_owned(), detail };
    let entry = zip.by_index(index).map_err(|e| entry_error(e.to_string()))?;
    let mut out = Vec::new();
    // One byte past the limit tells a too-large entry from one exactly at it; the declared size is not trusted.
    entry.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut out).map_err(|e| entry_error(e.to_string()))?;
    if out.len() as u64 > MAX_ENTRY_BYTES {
        return Err(ZipError::TooLarge { name: name.to_owned() });
    }
    Ok(Some(out))
}

/// A zip archive of `files` (name, bytes), deflated, each dated 1 January 2024 so the same files make the same bytes.
pub fn write(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let date = DateTime::from_date_and_time(2024, 1, 1, 0, 0, 0).unwrap_or_default();
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).last_modified_time(date);
    for (name, data) in files {
        // Writing to memory fails only on a duplicate name or a name zip cannot hold; such an entry is left out
        // and the reader then reports it missing.
        if let Err(e) = zip.start_file(*name, options).and_then(|()| zip.write_all(data).map_err(Into::into)) {
            tracing::warn!("zip entry {name} left out: {e}");
        }
    }
    zip.finish().map(Cursor::into_inner).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_archives_read_back() {
        let zip = write(&[("manifest.json", b"{\"id\":1}"), ("color.png", &[1, 2, 3])]);
        assert_eq!(names(&zip).unwrap(), ["manifest.json", "color.png"]);
        assert_eq!(read(&zip, "MANIFEST.json").unwrap().unwrap(), b"{\"id\":1}");
        assert_eq!(read(&zip, "outline.png").unwrap(), None);
        assert_eq!(write(&[("a", b"x")]), write(&[("a", b"x")]), "the same files make the same bytes");
    }

    #[test]
    fn entries_are_deflated_and_broken_archives_refused() {
        let big = vec![b'a'; 5000];
        let zip = write(&[("a.txt", &big)]);
        assert!(zip.len() < 1000, "deflated: {} bytes", zip.len());
        assert_eq!(read(&zip, "a.txt").unwrap().unwrap(), big);
        assert!(matches!(read(b"not a zip at all", "a"), Err(ZipError::Archive(_))));
        assert!(read(&zip[..zip.len() - 30], "a.txt").is_err(), "cut short");
    }

    #[test]
    fn a_damaged_entry_fails_its_crc_check() {
        let data: Vec<u8> = (0..=255u8).cycle().take(2000).collect();
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
        zip.start_file("m.json", stored).unwrap();
        zip.write_all(&data).unwrap();
        let mut bytes = zip.finish().unwrap().into_inner();
        // Flip one byte of the stored data (after the 30-byte local header and the name).
        bytes[30 + "m.json".len() + 100] ^= 0xFF;
        assert!(matches!(read(&bytes, "m.json"), Err(ZipError::Entry { .. })), "{:?}", read(&bytes, "m.json"));
    }
}
