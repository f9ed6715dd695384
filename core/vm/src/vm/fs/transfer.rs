//! Files larger than one message, in pieces: read by range, written from an upload (the
//! chunks `uploadChunk` collected, as for a snapshot restore). The host holds at most one
//! piece in memory either way.

use std::io::{self, Read, Seek, SeekFrom};

use super::snapshot::forget_upload;
use super::{FileRange, Filesystem, VmPath, fs_error};
use crate::runtime::{ActorError, Bytes, SafeU64};

impl Filesystem {
    /// At most `length` bytes of the regular file at `path` from `offset` (none past its
    /// end), and its size.
    pub fn read_range(
        &self,
        path: &str,
        offset: u64,
        length: u64,
    ) -> Result<FileRange, ActorError> {
        let path = VmPath::parse(path)?;
        let resolved = self.resolve(&path);
        let fs_err = |err: io::Error| fs_error(&err, &path);
        let mut file = resolved.storage.open_read(&resolved.rel).map_err(fs_err)?;
        let size = file.metadata().map_err(fs_err)?.len();
        file.seek(SeekFrom::Start(offset.min(size)))
            .map_err(fs_err)?;
        let mut data = Vec::with_capacity(
            usize::try_from(length.min(size.saturating_sub(offset))).unwrap_or(0),
        );
        file.take(length).read_to_end(&mut data).map_err(fs_err)?;
        Ok(FileRange {
            data: Bytes(data),
            size: SafeU64::new(size)?,
        })
    }

    /// Creates or replaces the file at `path` with a finished upload's bytes, which are then
    /// no longer pending. Its parent directory must exist, as for `writeFile`; a write that
    /// fails keeps the upload, for another try.
    pub fn write_upload(&self, path: &str, upload_id: &str) -> Result<(), ActorError> {
        let path = VmPath::parse(path)?;
        let resolved = self.resolve_writable(&path)?;
        let (mut upload, upload_path) = self.open_upload(upload_id)?;
        resolved
            .storage
            .write_from(&resolved.rel, &mut upload)
            .map_err(|err| fs_error(&err, &path))?;
        forget_upload(&upload_path)
    }
}

/// `readFile`'s answer to a file larger than one message names the way to read it.
pub(crate) fn read_in_pieces(error: ActorError) -> ActorError {
    if error.code != crate::runtime::code::LIMIT_EXCEEDED {
        return error;
    }
    ActorError {
        message: format!(
            "{}; read it in pieces with readFileRange (the client's downloadFile does)",
            error.message
        ),
        ..error
    }
}
