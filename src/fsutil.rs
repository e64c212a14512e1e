//! Writing files so that nothing written is ever half there: write to a
//! temporary file beside the target, flush it to disk, then rename it over the
//! target (rename is atomic within one directory).
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The temporary name used while `path` is being written.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Removes the temporary files ([`temp_path`]) in `dir` that a process no
/// longer alive left behind (killed mid-write); a live writer's are kept.
/// Returns what it removed.
pub fn remove_stale_partials(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix('.').and_then(|n| n.rsplit_once(".partial-")).and_then(|(_, pid)| pid.parse::<u32>().ok());
        if pid.is_some_and(|p| !process_alive(p)) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// Runs `f` holding an exclusive lock on the file `lock` (created if
/// absent; `flock`, released when the process ends however it ends), so
/// processes sharing a directory take turns at `f` (concurrent study
/// shards training one cached classifier, say).
pub fn with_file_lock<T>(lock: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(lock).map_err(|e| Error::io(lock, e))?;
    // SAFETY: flock on a descriptor this function owns; the lock goes with the file.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(Error::io(lock, std::io::Error::last_os_error()));
    }
    let out = f();
    drop(file);
    out
}

/// Whether process `pid` exists (Linux: `/proc/PID`); this process counts as alive.
pub fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Writes to `path` atomically through `fill`, which gets a buffered writer on
/// the temporary file. On any error the temporary file is removed.
pub fn write_atomic_with(
    path: impl AsRef<Path>,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let path = path.as_ref();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let tmp = temp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Writes named tensors as one safetensors file, atomically: a temporary
/// file, synced to disk, renamed over `path`, then the directory synced.
pub fn write_safetensors(path: impl AsRef<Path>, tensors: &[(String, tch::Tensor)]) -> Result<()> {
    let path = path.as_ref();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    let tmp = temp_path(path);
    let written = (|| -> Result<()> {
        tch::Tensor::write_safetensors(tensors, &tmp)?;
        std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        sync_dir(path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes a serialisable value as pretty JSON, atomically.
pub fn write_json(path: impl AsRef<Path>, value: &impl serde::Serialize) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Creates a directory and its parents, naming it in the error.
pub fn create_dir(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))
}

/// Syncs the directory holding `path`, so that a rename into it survives a crash.
pub fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d,
        None => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_partials_of_dead_writers_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dead = u32::MAX - 7; // beyond Linux's pid_max
        let mine = temp_path(&dir.path().join("checkpoint.safetensors"));
        let stale = dir.path().join(format!(".checkpoint.safetensors.partial-{dead}"));
        let other = dir.path().join("notes.partial-1x");
        for p in [&mine, &stale, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        let removed = remove_stale_partials(dir.path()).unwrap();
        assert_eq!(removed, vec![stale.clone()]);
        assert!(mine.exists() && other.exists() && !stale.exists());
        assert!(remove_stale_partials(&dir.path().join("absent")).unwrap().is_empty());
    }

    #[test]
    fn a_failed_write_leaves_neither_the_target_nor_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        let e = write_atomic_with(&target, |_| Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"))).unwrap_err();
        assert!(e.to_string().contains("a.json") && e.to_string().contains("no space left"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
