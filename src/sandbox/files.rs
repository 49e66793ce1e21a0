//! The read-only files a language runtime brings with it (the Python standard library's zip),
//! served from memory in one preopened directory. Nothing on the host is opened while a guest
//! runs: the bytes were read, and checked, when the runtime was loaded. A student's own files
//! never get here; graded modules run with no directory at all.

use std::sync::Arc;

/// The preopened directory's descriptor: the first after stdio, as WASI hosts number them.
pub(super) const DIR_FD: i32 = 3;
/// Open files at once, beyond stdio and the directory; more is `EMFILE`.
const MAX_OPEN: usize = 64;

// errno values of WASI preview 1 used here.
pub(super) const ENOENT: i32 = 44;
pub(super) const ENOTDIR: i32 = 54;
pub(super) const EISDIR: i32 = 31;
pub(super) const EROFS: i32 = 69;
pub(super) const EMFILE: i32 = 33;
pub(super) const ENOTCAPABLE: i32 = 76;

/// A flat, read-only directory: `files` under the guest path `dir`.
pub struct Tree {
    dir: String,
    files: Vec<(String, Arc<[u8]>)>,
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Node {
    Dir,
    File(usize),
}

/// An open descriptor above [`DIR_FD`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Handle {
    Dir,
    File { index: usize, pos: u64 },
}

impl Tree {
    /// `files` (name, bytes) seen by the guest as `dir/name`. Names are plain file names.
    pub fn new(dir: &str, files: Vec<(String, Arc<[u8]>)>) -> Self {
        Self {
            dir: dir.to_string(),
            files,
        }
    }

    pub(super) fn dir_name(&self) -> &[u8] {
        self.dir.as_bytes()
    }

    pub(super) fn bytes(&self, index: usize) -> &[u8] {
        self.files.get(index).map_or(&[][..], |(_, b)| b)
    }

    /// The node `path` names, relative to the directory. `..` may not climb out of it
    /// (`ENOTCAPABLE`, as a WASI host answers), and the tree has no sub-directories.
    pub(super) fn lookup(&self, path: &[u8]) -> Result<Node, i32> {
        let mut parts: Vec<&[u8]> = Vec::new();
        for part in path.split(|&b| b == b'/') {
            match part {
                b"" | b"." => {}
                b".." => {
                    if parts.pop().is_none() {
                        return Err(ENOTCAPABLE);
                    }
                }
                name => parts.push(name),
            }
        }
        match parts[..] {
            [] => Ok(Node::Dir),
            [name] => self
                .files
                .iter()
                .position(|(n, _)| n.as_bytes() == name)
                .map(Node::File)
                .ok_or(ENOENT),
            [first, ..] => Err(if self.files.iter().any(|(n, _)| n.as_bytes() == first) {
                ENOTDIR
            } else {
                ENOENT
            }),
        }
    }

    /// The directory's entries from `cookie` on, as `fd_readdir` lays them out (`.`, `..`,
    /// then the files), truncated to `room` bytes as WASI allows.
    pub(super) fn dirents(&self, cookie: u64, room: usize) -> Vec<u8> {
        let names = [(".", 3u8), ("..", 3)]
            .into_iter()
            .chain(self.files.iter().map(|(n, _)| (n.as_str(), 4u8)));
        let mut out = Vec::new();
        for (i, (name, kind)) in names.enumerate().skip(cookie as usize) {
            // The same inode numbers as `filestat`: the directory 1 (`..` too: nothing is
            // above it here), file `f` f + 2.
            let ino = if i < 2 { 1 } else { i as u64 };
            let mut entry = Vec::with_capacity(24 + name.len());
            entry.extend_from_slice(&(i as u64 + 1).to_le_bytes());
            entry.extend_from_slice(&ino.to_le_bytes());
            entry.extend_from_slice(&(name.len() as u32).to_le_bytes());
            entry.extend_from_slice(&[kind, 0, 0, 0]);
            entry.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&entry);
            if out.len() >= room {
                break;
            }
        }
        out.truncate(room);
        out
    }

    /// A `filestat` (64 bytes) for `node`.
    pub(super) fn filestat(&self, node: Node) -> [u8; 64] {
        let mut stat = [0u8; 64];
        let (ino, kind, size) = match node {
            Node::Dir => (1u64, 3u8, 0u64),
            Node::File(i) => (i as u64 + 2, 4, self.bytes(i).len() as u64),
        };
        stat[0..8].copy_from_slice(&1u64.to_le_bytes());
        stat[8..16].copy_from_slice(&ino.to_le_bytes());
        stat[16] = kind;
        stat[24..32].copy_from_slice(&1u64.to_le_bytes());
        stat[32..40].copy_from_slice(&size.to_le_bytes());
        stat
    }
}

/// The guest's open descriptors above [`DIR_FD`]: fd `DIR_FD + 1 + i` is `open[i]`.
#[derive(Clone, Debug, Default)]
pub(super) struct Table {
    open: Vec<Option<Handle>>,
}

impl Table {
    pub(super) fn insert(&mut self, handle: Handle) -> Result<i32, i32> {
        let slot = match self.open.iter().position(Option::is_none) {
            Some(slot) => slot,
            None if self.open.len() < MAX_OPEN => {
                self.open.push(None);
                self.open.len() - 1
            }
            None => return Err(EMFILE),
        };
        self.open[slot] = Some(handle);
        Ok(DIR_FD + 1 + slot as i32)
    }

    fn slot(fd: i32) -> Option<usize> {
        fd.checked_sub(DIR_FD + 1)
            .and_then(|s| usize::try_from(s).ok())
    }

    pub(super) fn get(&self, fd: i32) -> Option<Handle> {
        if fd == DIR_FD {
            return Some(Handle::Dir);
        }
        Self::slot(fd).and_then(|s| self.open.get(s).copied().flatten())
    }

    pub(super) fn get_mut(&mut self, fd: i32) -> Option<&mut Handle> {
        Self::slot(fd).and_then(|s| self.open.get_mut(s)?.as_mut())
    }

    /// Closes `fd`; the directory itself cannot be closed (as with a preopen, the guest may
    /// try: it stays).
    pub(super) fn close(&mut self, fd: i32) -> bool {
        match Self::slot(fd).and_then(|s| self.open.get_mut(s)) {
            Some(slot @ Some(_)) => {
                *slot = None;
                true
            }
            _ => fd == DIR_FD,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Tree {
        Tree::new(
            "/usr/local/lib",
            vec![("lib.zip".into(), Arc::from(&b"PK"[..]))],
        )
    }

    #[test]
    fn paths_stay_inside_the_directory() {
        let t = tree();
        assert_eq!(t.lookup(b"lib.zip"), Ok(Node::File(0)));
        assert_eq!(t.lookup(b"./x/../lib.zip"), Ok(Node::File(0)));
        assert_eq!(t.lookup(b""), Ok(Node::Dir));
        assert_eq!(t.lookup(b"."), Ok(Node::Dir));
        assert_eq!(t.lookup(b".."), Err(ENOTCAPABLE));
        assert_eq!(t.lookup(b"../../etc/passwd"), Err(ENOTCAPABLE));
        assert_eq!(t.lookup(b"lib.zip/inner"), Err(ENOTDIR));
        assert_eq!(t.lookup(b"python3.15/os.py"), Err(ENOENT));
    }

    #[test]
    fn descriptors_are_bounded_and_reused() {
        let mut table = Table::default();
        let first = table.insert(Handle::Dir);
        assert_eq!(first, Ok(DIR_FD + 1));
        for _ in 1..MAX_OPEN {
            assert!(table.insert(Handle::File { index: 0, pos: 0 }).is_ok());
        }
        assert_eq!(table.insert(Handle::Dir), Err(EMFILE));
        assert!(table.close(DIR_FD + 1));
        assert!(!table.close(DIR_FD + 1));
        assert_eq!(table.insert(Handle::Dir), Ok(DIR_FD + 1));
        assert_eq!(table.get(DIR_FD), Some(Handle::Dir));
        assert_eq!(table.get(99), None);
        assert_eq!(table.get(i32::MIN), None);
        assert_eq!(table.get(-1), None);
        assert!(!table.close(i32::MIN));
    }

    #[test]
    fn listing_is_truncated_to_the_buffer() {
        let t = tree();
        let all = t.dirents(0, 4096);
        assert_eq!(all.len(), 3 * 24 + 1 + 2 + 7);
        assert_eq!(t.dirents(0, 30).len(), 30);
        let rest = t.dirents(2, 4096);
        assert_eq!(&rest[24..], b"lib.zip");
    }
}
