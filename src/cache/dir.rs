//! The cache directory, used only while it is this user's alone.
//!
//! `$XDG_CACHE_HOME/assume` and each directory in it is opened without following a link and
//! checked: a directory, owned by this user, writable by no one else. Every file there is then
//! reached through that open directory (`openat`), so no link, planted before or swapped in
//! while `assume` runs, can redirect a read or a write; only regular files of a bounded size
//! are read, and a file is written in `staging/` and renamed into place.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::StoreError;

/// What every refusal ends with.
const ADVICE: &str = "remove it or set XDG_CACHE_HOME to a private directory";

/// What the cache directory may hold where `assume` looks: directories, and files.
#[cfg_attr(not(unix), allow(dead_code))]
const SUBDIRS: [&str; 3] = ["entries", "locks", "staging"];
#[cfg_attr(not(unix), allow(dead_code))]
const FILES: [&str; 2] = ["index.json", "fallback"];

/// A file left in `staging/` this long is a killed writer's: a live one renames it sooner.
pub const STALE: Duration = Duration::from_secs(60);

/// One checked directory of the cache, held open.
pub struct Dir {
    path: PathBuf,
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
}

/// Why a file in the cache directory was not read.
pub enum ReadError {
    /// It is not a regular file of this user's of at most the size asked for: what it is.
    Refused(String),
    Io(io::Error),
}

impl Dir {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` whole: a new file in `staging`, renamed over whatever `name` was (a link
    /// there is replaced, never followed). Then sweeps what killed writers left in `staging`.
    pub fn write(&self, name: &str, bytes: &[u8], staging: &Dir) -> io::Result<()> {
        let temp = format!("{name}.{}.tmp", random_hex()?);
        let mut file = staging.create_new(&temp)?;
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| staging.rename(&temp, self, name));
        if written.is_err() {
            let _ = staging.remove(&temp);
        }
        written?;
        staging.sweep(Some(STALE));
        Ok(())
    }
}

/// How a refusal of `path` reads.
#[cfg_attr(not(unix), allow(dead_code))]
fn refusal(what: &str, path: &Path, why: &str) -> StoreError {
    StoreError::Unsafe(format!(
        "the cache {what} {} {why}: {ADVICE}",
        path.display()
    ))
}

fn unusable(path: &Path, error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("cannot use {}: {error}", path.display()))
}

fn random_hex() -> io::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether a file's time is more than `age` away from `now`, either way (a clock set back
/// leaves files "from the future" that would otherwise never be old enough).
fn is_stale(modified: i64, now: SystemTime, age: Duration) -> bool {
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    now.abs_diff(modified) > age.as_secs()
}

#[cfg(unix)]
mod unix {
    use std::fs::{DirBuilder, File};
    use std::io;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;

    use super::{Dir, FILES, ReadError, SUBDIRS, refusal, unusable};
    use crate::cache::StoreError;

    /// This process's effective user id: whose the cache directory must be.
    fn me() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// What is wrong with a directory owned by `uid` with permission bits `mode`, if anything.
    fn not_private(uid: u32, mode: u32) -> Option<String> {
        if uid != me() {
            return Some(format!("is owned by uid {uid}"));
        }
        (mode & 0o022 != 0).then(|| format!("is writable by others (mode {:o})", mode & 0o7777))
    }

    enum Opened {
        Dir(Dir),
        Missing,
    }

    /// Opens the directory `name` (relative to `at`), not following a link, and checks it.
    fn open_dir(at: impl AsFd, name: &Path, path: &Path) -> Result<Opened, StoreError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(&at, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Opened::Missing),
            Err(Errno::LOOP) => return Err(refusal("directory", path, "is a symbolic link")),
            Err(Errno::NOTDIR)
                if rustix::fs::statat(&at, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|stat| {
                    FileType::from_raw_mode(stat.st_mode as _) == FileType::Symlink
                }) =>
            {
                return Err(refusal("directory", path, "is a symbolic link"));
            }
            Err(e) => return Err(unusable(path, io::Error::from(e))),
        };
        let file = File::from(fd);
        let meta = file.metadata().map_err(|e| unusable(path, e))?;
        if let Some(why) = not_private(meta.uid(), meta.mode()) {
            return Err(refusal("directory", path, &why));
        }
        if meta.mode() & 0o077 != 0 {
            // Readable by others: ours, so made private (through the open directory).
            file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .map_err(|e| unusable(path, e))?;
        }
        Ok(Opened::Dir(Dir {
            path: path.to_path_buf(),
            fd: OwnedFd::from(file),
        }))
    }

    /// Makes the missing directories of `path`, from the top, each 0700 and checked (so one
    /// that someone else made first, in a race, is refused).
    fn make(path: &Path) -> Result<(), StoreError> {
        let mut missing = Vec::new();
        let mut next = Some(path);
        while let Some(dir) = next.filter(|dir| !dir.as_os_str().is_empty()) {
            match std::fs::symlink_metadata(dir) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(dir),
                Err(e) => return Err(unusable(dir, e)),
            }
            next = dir.parent();
        }
        for dir in missing.into_iter().rev() {
            match DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(unusable(dir, e)),
            }
            let meta = std::fs::symlink_metadata(dir).map_err(|e| unusable(dir, e))?;
            if meta.file_type().is_symlink() {
                return Err(refusal("directory", dir, "is a symbolic link"));
            }
            if let Some(why) = not_private(meta.uid(), meta.mode()) {
                return Err(refusal("directory", dir, &why));
            }
        }
        Ok(())
    }

    impl Dir {
        /// The cache directory `path`, checked, with what it holds where `assume` looks
        /// (`entries`, `locks`, `staging`, `index.json`, `fallback`). With `create` it is made
        /// when missing (0700, and so are the missing directories above it); without, a
        /// missing one is `None`. The directories above it may be links (a `~/.cache` that
        /// points elsewhere); it may not.
        pub fn open(path: &Path, create: bool) -> Result<Option<Dir>, StoreError> {
            let dir = match open_dir(rustix::fs::CWD, path, path)? {
                Opened::Dir(dir) => dir,
                Opened::Missing if create => {
                    make(path)?;
                    match open_dir(rustix::fs::CWD, path, path)? {
                        Opened::Dir(dir) => dir,
                        Opened::Missing => return Err(unusable(path, "it vanished")),
                    }
                }
                Opened::Missing => return Ok(None),
            };
            dir.check_contents()?;
            Ok(Some(dir))
        }

        /// Refuses the directory when what it holds where `assume` looks is a link, or not
        /// what it should be, or someone else's.
        fn check_contents(&self) -> Result<(), StoreError> {
            let kinds = SUBDIRS
                .iter()
                .map(|name| (*name, FileType::Directory))
                .chain(FILES.iter().map(|name| (*name, FileType::RegularFile)));
            for (name, wanted) in kinds {
                let stat = match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) => stat,
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(unusable(&self.path.join(name), io::Error::from(e))),
                };
                let what = if wanted == FileType::Directory {
                    "directory"
                } else {
                    "file"
                };
                let path = self.path.join(name);
                let kind = FileType::from_raw_mode(stat.st_mode as _);
                if kind == FileType::Symlink {
                    return Err(refusal(what, &path, "is a symbolic link"));
                }
                if kind != wanted {
                    return Err(refusal(what, &path, &format!("is not a {what}")));
                }
                let uid = stat.st_uid as u32;
                let why = if wanted == FileType::Directory {
                    not_private(uid, stat.st_mode as u32)
                } else {
                    (uid != me()).then(|| format!("is owned by uid {uid}"))
                };
                if let Some(why) = why {
                    return Err(refusal(what, &path, &why));
                }
            }
            Ok(())
        }

        /// The directory `name` in this one, checked; made (0700) when missing and `create`.
        pub fn subdir(&self, name: &str, create: bool) -> Result<Option<Dir>, StoreError> {
            let path = self.path.join(name);
            match open_dir(&self.fd, Path::new(name), &path)? {
                Opened::Dir(dir) => return Ok(Some(dir)),
                Opened::Missing if !create => return Ok(None),
                Opened::Missing => {}
            }
            match rustix::fs::mkdirat(&self.fd, name, Mode::RWXU) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(unusable(&path, io::Error::from(e))),
            }
            match open_dir(&self.fd, Path::new(name), &path)? {
                Opened::Dir(dir) => Ok(Some(dir)),
                Opened::Missing => Err(unusable(&path, "it vanished")),
            }
        }

        /// The file `name`, if there is one and it is a regular file of this user's of at
        /// most `limit` bytes. Never blocks (a FIFO is refused, not opened for a writer).
        pub fn read(
            &self,
            name: &str,
            limit: u64,
        ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, ReadError> {
            use std::io::Read as _;
            let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
            let fd = match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => return Ok(None),
                Err(Errno::LOOP) => return Err(ReadError::Refused("a symbolic link".into())),
                Err(e) => return Err(ReadError::Io(e.into())),
            };
            let file = File::from(fd);
            let meta = file.metadata().map_err(ReadError::Io)?;
            if !meta.file_type().is_file() {
                return Err(ReadError::Refused("not a regular file".into()));
            }
            if meta.uid() != me() {
                return Err(ReadError::Refused(format!("owned by uid {}", meta.uid())));
            }
            let too_big = || ReadError::Refused(format!("larger than {limit} bytes"));
            if meta.len() > limit {
                return Err(too_big());
            }
            // Room for all of it (and the probe for its end), so no copy is left behind.
            let capacity = usize::try_from(meta.len()).unwrap_or_default() + 64;
            let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(capacity));
            file.take(limit + 1)
                .read_to_end(&mut bytes)
                .map_err(ReadError::Io)?;
            if bytes.len() as u64 > limit {
                return Err(too_big());
            }
            Ok(Some(bytes))
        }

        /// A new file `name` (0600), never one that exists nor through a link.
        pub(super) fn create_new(&self, name: &str) -> io::Result<File> {
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.fd, name, flags, Mode::RUSR | Mode::WUSR)?;
            Ok(File::from(fd))
        }

        pub(super) fn rename(&self, from: &str, to_dir: &Dir, to: &str) -> io::Result<()> {
            Ok(rustix::fs::renameat(&self.fd, from, &to_dir.fd, to)?)
        }

        /// The regular file `name` (made 0600 when missing), open for a lock.
        pub fn lock_file(&self, name: &str) -> io::Result<File> {
            let flags = OFlags::WRONLY
                | OFlags::CREATE
                | OFlags::NOFOLLOW
                | OFlags::NONBLOCK
                | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.fd, name, flags, Mode::RUSR | Mode::WUSR)?;
            let file = File::from(fd);
            if !file.metadata()?.file_type().is_file() {
                return Err(io::Error::other(format!("{name} is not a regular file")));
            }
            Ok(file)
        }

        /// Removes `name` (a link itself, never what it points to); a missing one is fine.
        pub fn remove(&self, name: &str) -> io::Result<()> {
            match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }

        /// The names in this directory.
        pub fn names(&self) -> Vec<String> {
            let Ok(dir) = rustix::fs::Dir::read_from(&self.fd) else {
                return Vec::new();
            };
            dir.filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().to_str().ok().map(str::to_string))
                .filter(|name| name != "." && name != "..")
                .collect()
        }

        /// Removes every file (not directory) here whose time is more than `age` from now, or
        /// every one with `None`; how many.
        pub fn sweep(&self, age: Option<Duration>) -> usize {
            let now = SystemTime::now();
            let mut removed = 0;
            for name in self.names() {
                let Ok(stat) = rustix::fs::statat(&self.fd, &name, AtFlags::SYMLINK_NOFOLLOW)
                else {
                    continue;
                };
                if FileType::from_raw_mode(stat.st_mode as _) == FileType::Directory {
                    continue;
                }
                // The field's type differs between platforms.
                #[allow(clippy::unnecessary_cast)]
                let modified = stat.st_mtime as i64;
                let stale = age.is_none_or(|age| super::is_stale(modified, now, age));
                if stale && self.remove(&name).is_ok() {
                    removed += 1;
                }
            }
            removed
        }
    }
}

/// Where there are no open directories to work from: paths, without the checks.
#[cfg(not(unix))]
mod portable {
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Read as _};
    use std::path::Path;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::{Dir, ReadError, unusable};
    use crate::cache::StoreError;

    impl Dir {
        pub fn open(path: &Path, create: bool) -> Result<Option<Dir>, StoreError> {
            if create {
                fs::create_dir_all(path).map_err(|e| unusable(path, e))?;
            } else if !path.is_dir() {
                return Ok(None);
            }
            Ok(Some(Dir {
                path: path.to_path_buf(),
            }))
        }

        pub fn subdir(&self, name: &str, create: bool) -> Result<Option<Dir>, StoreError> {
            Dir::open(&self.path.join(name), create)
        }

        pub fn read(
            &self,
            name: &str,
            limit: u64,
        ) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, ReadError> {
            let file = match File::open(self.path.join(name)) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(ReadError::Io(e)),
            };
            let meta = file.metadata().map_err(ReadError::Io)?;
            if !meta.is_file() {
                return Err(ReadError::Refused("not a regular file".into()));
            }
            if meta.len() > limit {
                return Err(ReadError::Refused(format!("larger than {limit} bytes")));
            }
            let mut bytes = zeroize::Zeroizing::new(Vec::new());
            file.take(limit)
                .read_to_end(&mut bytes)
                .map_err(ReadError::Io)?;
            Ok(Some(bytes))
        }

        pub(super) fn create_new(&self, name: &str) -> io::Result<File> {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(self.path.join(name))
        }

        pub(super) fn rename(&self, from: &str, to_dir: &Dir, to: &str) -> io::Result<()> {
            fs::rename(self.path.join(from), to_dir.path.join(to))
        }

        pub fn lock_file(&self, name: &str) -> io::Result<File> {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(self.path.join(name))
        }

        pub fn remove(&self, name: &str) -> io::Result<()> {
            match fs::remove_file(self.path.join(name)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        }

        pub fn names(&self) -> Vec<String> {
            fs::read_dir(&self.path)
                .map(|entries| {
                    entries
                        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default()
        }

        pub fn sweep(&self, age: Option<Duration>) -> usize {
            let now = SystemTime::now();
            let mut removed = 0;
            for name in self.names() {
                let Ok(meta) = fs::symlink_metadata(self.path.join(&name)) else {
                    continue;
                };
                if meta.is_dir() {
                    continue;
                }
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                let stale = age.is_none_or(|age| super::is_stale(modified, now, age));
                if stale && self.remove(&name).is_ok() {
                    removed += 1;
                }
            }
            removed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_counts_both_ways() {
        let now = UNIX_EPOCH + Duration::from_secs(10_000);
        assert!(!is_stale(10_000, now, STALE));
        assert!(!is_stale(10_000 - 60, now, STALE));
        assert!(is_stale(10_000 - 61, now, STALE));
        assert!(
            is_stale(10_000 + 61, now, STALE),
            "from the future: the clock went back"
        );
        let before_1970 = UNIX_EPOCH - Duration::from_secs(100);
        assert!(!is_stale(-100, before_1970, STALE));
        assert!(is_stale(0, before_1970, STALE));
    }
}
