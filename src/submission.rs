//! Reading what a student handed in. Every byte of a student folder is hostile: a file may
//! be a symbolic link to the grader's environment or to a classmate's work, a FIFO that
//! blocks forever, a device that never ends, or simply huge. Only regular files inside the
//! folder are read, never more than a bound, and a refusal says why in words.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::grade::human_bytes;
use crate::sandbox::LoadError;

/// Whether a symbolic link may be followed: never inside a student's folder; on the command
/// line (`grader test q2.3 path.wasm`) the person running the grader chose the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    Refuse,
    Follow,
}

/// Why a submitted file was not read.
#[derive(Debug)]
pub enum Refusal {
    NotFound,
    /// A symbolic link, in a folder where links are refused.
    Link,
    /// A FIFO, socket, device or folder.
    NotRegular(&'static str),
    /// Larger than the bound for such a file.
    TooLarge {
        limit: usize,
    },
    Io(std::io::Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotFound => f.write_str("does not exist"),
            Refusal::Link => {
                f.write_str("is a symbolic link: only regular files inside the folder are graded")
            }
            Refusal::NotRegular(kind) => {
                write!(
                    f,
                    "is {kind}, not a regular file: only regular files are graded"
                )
            }
            Refusal::TooLarge { limit } => {
                write!(
                    f,
                    "is larger than {}, the most read",
                    human_bytes(*limit as u64)
                )
            }
            Refusal::Io(e) => write!(f, "cannot be read ({e})"),
        }
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// Why a module file that is there cannot be graded, as the submission's reason
    /// ("the module …"): a module over `limit` bytes, or a file that is not one.
    pub fn as_load_error(&self, limit: usize) -> LoadError {
        match self {
            Refusal::TooLarge { .. } => LoadError::too_large(limit),
            other => LoadError(format!("file {other}")),
        }
    }
}

impl From<std::io::Error> for Refusal {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => Refusal::NotFound,
            // O_NOFOLLOW on a link that appeared after the first look.
            _ if e.raw_os_error() == Some(libc::ELOOP) => Refusal::Link,
            _ => Refusal::Io(e),
        }
    }
}

fn kind_of(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else {
        "a special file"
    }
}

/// What identifies a file's version without reading it: if all of these are unchanged, so
/// are its bytes (git's index relies on the same; `ctime` changes on every write and cannot
/// be set back by the student).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub inode: u64,
}

/// A regular file, opened: its identity is that of what was opened, not of what the path
/// named a moment before.
pub struct Opened {
    file: std::fs::File,
    pub stat: FileStat,
}

/// Opens the regular file at `path` without reading it (a FIFO never blocks the opening).
pub fn open(path: &Path, links: Links) -> Result<Opened, Refusal> {
    use std::os::unix::fs::MetadataExt;
    let first_look = std::fs::symlink_metadata(path)?;
    if first_look.file_type().is_symlink() && links == Links::Refuse {
        return Err(Refusal::Link);
    }
    let mut flags = libc::O_NONBLOCK; // opening a FIFO must not wait for a writer
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW; // a link swapped in after the first look
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let opened = file.metadata()?;
    if !opened.is_file() {
        return Err(Refusal::NotRegular(kind_of(opened.file_type())));
    }
    let stat = FileStat {
        size: opened.size(),
        mtime_ns: opened.mtime().saturating_mul(1_000_000_000) + opened.mtime_nsec(),
        ctime_ns: opened.ctime().saturating_mul(1_000_000_000) + opened.ctime_nsec(),
        inode: opened.ino(),
    };
    Ok(Opened { file, stat })
}

impl Opened {
    /// Its bytes, at most `limit` (a larger file is refused after reading one byte past the
    /// limit, never read whole).
    pub fn read(self, limit: usize) -> Result<Vec<u8>, Refusal> {
        if self.stat.size > limit as u64 {
            return Err(Refusal::TooLarge { limit });
        }
        let mut bytes = Vec::new();
        self.file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
        if bytes.len() > limit {
            return Err(Refusal::TooLarge { limit });
        }
        Ok(bytes)
    }
}

/// Reads the regular file at `path`, at most `limit` bytes.
pub fn read(path: &Path, limit: usize, links: Links) -> Result<Vec<u8>, Refusal> {
    open(path, links)?.read(limit)
}

/// The SHA-256 of `bytes` in lowercase hex: how the gradebook names a file's content.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    crate::spec::hex(&Sha256::digest(bytes))
}

/// At most `cap` warnings from one source; the rest become one line that counts them, so that
/// a folder of a million junk files, or an answers file of a million tables, gives a short
/// report.
pub fn capped(mut warnings: Vec<String>, cap: usize, source: &str) -> Vec<String> {
    if warnings.len() > cap {
        let more = warnings.len() - cap;
        warnings.truncate(cap);
        warnings.push(format!(
            "{source}: {more} more warnings like these not shown"
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("answers.toml");
        std::fs::write(&file, b"x = 1\n").expect("write");
        assert_eq!(read(&file, 100, Links::Refuse).expect("read"), b"x = 1\n");
        assert!(matches!(
            read(&file, 3, Links::Refuse),
            Err(Refusal::TooLarge { limit: 3 })
        ));
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        assert!(matches!(
            read(&link, 100, Links::Refuse),
            Err(Refusal::Link)
        ));
        assert!(read(&link, 100, Links::Follow).is_ok());
        assert!(matches!(
            read(dir.path(), 100, Links::Follow),
            Err(Refusal::NotRegular("a folder"))
        ));
        assert!(matches!(
            read(Path::new("/dev/zero"), 100, Links::Follow),
            Err(Refusal::NotRegular("a device"))
        ));
        assert!(matches!(
            read(&dir.path().join("nope"), 100, Links::Refuse),
            Err(Refusal::NotFound)
        ));
    }
}
