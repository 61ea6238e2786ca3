//! Which files a `file://` source names, and which of them can hold
//! records at all.

use std::path::{Path, PathBuf};

use super::super::{is_not_a_log, SourceError};

/// The checkpoint key of a file: `file:<absolute path>`.
pub fn position_key(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// Expands a `file://` spec (a file, a directory, or a glob) into a sorted
/// list of absolute paths.
pub fn resolve(spec: &str) -> Result<Vec<PathBuf>, SourceError> {
    let raw = spec.strip_prefix("file://").unwrap_or(spec);
    if raw.is_empty() {
        return Err(SourceError::NoFiles(spec.to_string()));
    }
    let mut files = Vec::new();
    if raw.contains(['*', '?', '[']) {
        let paths = glob::glob(raw).map_err(|e| SourceError::BadGlob(spec.to_string(), e.to_string()))?;
        for p in paths.flatten() {
            collect(&p, &mut files)?;
        }
    } else {
        let p = Path::new(raw);
        if !p.exists() {
            return Err(SourceError::NotFound(p.to_path_buf()));
        }
        collect(p, &mut files)?;
    }
    if files.is_empty() {
        return Err(SourceError::NoFiles(spec.to_string()));
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), SourceError> {
    let io = |e| SourceError::Io(p.to_path_buf(), e);
    if p.is_dir() {
        for entry in std::fs::read_dir(p).map_err(io)? {
            let entry = entry.map_err(io)?;
            // Hidden files and CloudTrail digests are not data. Others that
            // cannot hold records (a README kept beside the logs, an image)
            // are found by their first bytes when read, and named in the
            // summary.
            if is_not_a_log(&entry.path().to_string_lossy()) {
                continue;
            }
            collect(&entry.path(), out)?;
        }
    } else if p.is_file() {
        out.push(std::fs::canonicalize(p).map_err(io)?);
    }
    Ok(())
}

/// Whether a file's first bytes (`head`, up to 4 KiB) can hold records:
/// gzip, or text with a line that starts a JSON document (so a file whose
/// first record is broken is still read, that record dead-lettered).
/// README files, images and the like found beside the logs are skipped and
/// named, not read into hundreds of dead letters.
pub(super) fn may_hold_records(head: &[u8]) -> bool {
    const BINARY: [&[u8]; 6] = [b"\x89PNG", b"\xFF\xD8\xFF", b"GIF8", b"%PDF", b"PK\x03\x04", b"\0"];
    if head.starts_with(&[0x1f, 0x8b]) || head.is_empty() {
        return true;
    }
    if BINARY.iter().any(|m| head.starts_with(m)) {
        return false;
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.split(|&c| c == b'\n').any(|line| matches!(line.iter().find(|c| !c.is_ascii_whitespace()), Some(b'{' | b'[')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_cannot_hold_records_are_told_by_their_first_bytes() {
        assert!(may_hold_records(b"\xEF\xBB\xBF  {\"a\": 1}"));
        assert!(may_hold_records(b"[1]"));
        assert!(may_hold_records(b"garbage first line\n{\"eventName\": \"x\"}\n"), "a broken first record");
        assert!(may_hold_records(&[0x1f, 0x8b, 8]));
        assert!(!may_hold_records(b"# Cognito logs\n\nExported nightly.\n"));
        assert!(!may_hold_records(b"\x89PNG\r\n\x1a\n{"));
        assert!(!may_hold_records(b"\0\0\0\x01Bud1"));
    }

}
