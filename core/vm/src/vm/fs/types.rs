//! The filesystem's wire DTOs. Their doc comments become the TypeScript client's JSDoc.

use crate::runtime::{ActorError, Bytes, SafeU64};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a mount's files live.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum MountDriver {
    /// RAM-backed (tmpfs when the host has `/dev/shm`); its contents vanish on unmount.
    Memory,
    /// A host directory, confined: neither `..` nor a symlink can lead out of it.
    HostDir {
        /// Absolute host path of the directory.
        path: String,
    },
    /// A read-only host directory with a private writable layer on top; the host side is never modified.
    Overlay {
        /// Absolute host path of the directory that is never modified.
        lower: String,
    },
}

/// Options for `mountFs`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct MountOptions {
    /// Reject every write through this mount with `read_only`.
    pub read_only: Option<bool>,
}

/// One entry of the mount table.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct MountInfo {
    /// VM path of the mount point.
    pub path: String,
    /// What is mounted there.
    pub driver: MountDriver,
    /// Whether writes through the mount are rejected.
    pub read_only: bool,
    /// Set for a mount that came back from before the host restarted other than it was.
    pub restored: Option<MountRestored>,
}

/// How a mount made before a restart came back, when not as it was.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum MountRestored {
    /// A memory mount: mounted again, empty (its contents lived in memory).
    Empty,
    /// Not mounted: its host directory is gone or no longer allowed. `unmountFs` forgets it.
    Unavailable { reason: String },
}

/// File contents: a string is written as UTF-8.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum FileContent {
    Text(String),
    Bytes(Bytes),
}

impl FileContent {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(text) => text.as_bytes(),
            Self::Bytes(bytes) => bytes,
        }
    }
}

/// The outcome of reading one file of a batch: exactly one of `content` and `error` is set.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ReadFileResult {
    /// The path as requested.
    pub path: String,
    /// The file's bytes, when it could be read.
    pub content: Option<Bytes>,
    /// Why it could not be read.
    pub error: Option<ActorError>,
}

/// One file to write in a batch.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WriteFileEntry {
    /// VM path of the file; its parent directory must exist.
    pub path: String,
    /// The new contents.
    pub content: FileContent,
}

/// The outcome of writing one file of a batch.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct WriteFileResult {
    /// The path as requested.
    pub path: String,
    /// Why it could not be written; absent on success.
    pub error: Option<ActorError>,
}

/// Options for `mkdir`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct MkdirOptions {
    /// Create missing parents too, and succeed if the directory already exists.
    pub recursive: Option<bool>,
}

/// Options for `readdirRecursive`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct ReaddirRecursiveOptions {
    /// How many directory levels below `path` to descend into; 0 lists only its direct children. Unlimited when absent.
    pub max_depth: Option<u32>,
    /// Entry names (not paths) to leave out, along with everything below them.
    pub exclude: Option<Vec<String>>,
}

/// What a path is. Symlinks are reported as themselves, never followed.
#[derive(Serialize, Deserialize, TS, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum FileKind {
    File,
    Directory,
    Symlink,
}

/// One entry found by `readdirRecursive`.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DirEntry {
    /// Absolute VM path of the entry.
    pub path: String,
    /// What the entry is.
    pub kind: FileKind,
    /// Size in bytes (for a symlink, the length of its target).
    pub size: SafeU64,
}

/// Metadata of a path (of the link itself for a symlink).
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileStat {
    /// What the path is.
    pub kind: FileKind,
    /// Size in bytes.
    pub size: SafeU64,
    /// Permission bits, e.g. `0o644`.
    pub mode: u32,
    /// Last modification, in milliseconds since the Unix epoch.
    pub modified_ms: f64,
    /// Whether the path is on a read-only mount.
    pub read_only: bool,
}

/// Options for `delete`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct DeleteOptions {
    /// Delete a non-empty directory with everything in it.
    pub recursive: Option<bool>,
}

/// Options for `snapshot`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct SnapshotOptions {
    /// Include the contents of mounts under their mount paths; by default mount points are empty directories.
    pub include_mounts: Option<bool>,
}

/// Where `restore` reads a snapshot archive from.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum SnapshotSource {
    /// A whole archive that fits in one message.
    Bytes(Bytes),
    /// An archive sent earlier in pieces with `uploadSnapshotChunk`; the upload is consumed.
    UploadId(String),
}

/// State of an upload after a chunk was appended.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UploadInfo {
    /// Pass this with the next chunk, and to `restore` once all chunks are sent.
    pub upload_id: String,
    /// Bytes received so far.
    pub size: SafeU64,
}

/// A piece of a file, with the file's size when it was read: `readFileRange`'s answer.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FileRange {
    /// The bytes from the offset asked for: fewer than asked at the end of the file.
    pub data: Bytes,
    /// The whole file's size in bytes.
    pub size: SafeU64,
}

/// One piece of a snapshot archive; concatenating chunks 0..chunks in order gives the archive.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotChunk {
    /// Position of this chunk, from 0.
    pub index: u32,
    /// The chunk's bytes.
    pub data: Bytes,
}

/// Describes a snapshot archive whose chunks were sent.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo {
    /// Archive size in bytes.
    pub size: SafeU64,
    /// Hex SHA-256 of the whole archive, to check the reassembled bytes.
    pub sha256: String,
    /// How many chunks the archive is sent in.
    pub chunks: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts_decl<T: TS>() -> String {
        T::decl(&ts_rs::Config::default())
    }

    #[test]
    fn mount_driver_is_internally_tagged_camel_case() {
        let driver = MountDriver::HostDir {
            path: "/srv".into(),
        };
        assert_eq!(
            serde_json::to_value(&driver).unwrap(),
            json!({ "type": "hostDir", "path": "/srv" })
        );
        let memory: MountDriver = serde_json::from_value(json!({ "type": "memory" })).unwrap();
        assert_eq!(memory, MountDriver::Memory);
        let overlay: MountDriver =
            serde_json::from_value(json!({ "type": "overlay", "lower": "/l" })).unwrap();
        assert_eq!(overlay, MountDriver::Overlay { lower: "/l".into() });
    }

    #[test]
    fn options_are_camel_case_and_omit_absent_fields() {
        let options: MountOptions = serde_json::from_value(json!({ "readOnly": true })).unwrap();
        assert_eq!(options.read_only, Some(true));
        assert_eq!(
            serde_json::to_value(MountOptions::default()).unwrap(),
            json!({})
        );
        let rr: ReaddirRecursiveOptions =
            serde_json::from_value(json!({ "maxDepth": 2, "exclude": ["x"] })).unwrap();
        assert_eq!(rr.max_depth, Some(2));
        let stat = FileStat {
            kind: FileKind::Symlink,
            size: SafeU64::saturating(3),
            mode: 0o777,
            modified_ms: 1.5,
            read_only: false,
        };
        assert_eq!(
            serde_json::to_value(&stat).unwrap(),
            json!({ "kind": "symlink", "size": 3, "mode": 511, "modifiedMs": 1.5, "readOnly": false })
        );
    }

    #[test]
    fn file_content_and_snapshot_source_shapes() {
        let text: FileContent = serde_json::from_value(json!("hi")).unwrap();
        assert_eq!(text.as_bytes(), b"hi");
        let source: SnapshotSource = serde_json::from_value(json!({ "uploadId": "abc" })).unwrap();
        assert_eq!(source, SnapshotSource::UploadId("abc".into()));
        assert!(ts_decl::<FileContent>().contains("string | Uint8Array"));
        let decl = ts_decl::<SnapshotSource>();
        assert!(decl.contains("{ \"bytes\": Uint8Array }"), "{decl}");
        assert!(decl.contains("{ \"uploadId\": string }"), "{decl}");
        let decl = ts_decl::<MountOptions>();
        assert!(decl.contains("readOnly?: boolean"), "{decl}");
        assert!(decl.contains("Reject every write"), "{decl}");
    }
}
