//! The VM filesystem: a root directory on the host plus a table of mounts, all reached through
//! capability handles so that no VM path, however spelled and whatever symlinks it meets, can
//! touch the host outside them. Every failure is a typed `ActorError` naming the VM path.
//!
//! Methods block on std I/O; callers on an async runtime wrap long ones in `spawn_blocking`.

mod path;
mod types;

pub use path::VmPath;
pub use types::{
    DeleteOptions, DirEntry, FileContent, FileKind, FileStat, MkdirOptions, MountDriver, MountInfo,
    MountOptions, ReadFileResult, ReaddirRecursiveOptions, SnapshotChunk, SnapshotInfo,
    SnapshotOptions, SnapshotSource, UploadInfo, WriteFileEntry, WriteFileResult,
};
