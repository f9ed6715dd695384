//! An app's own actions on the agentOS actor. `NotesApp` keeps a notebook of its own (state
//! the core knows nothing about, in `notes.json` beside the VM) and holds the app's VM; its
//! `#[surface(extends = AgentOs)]` joins its actions to every built-in one, so clients see one
//! actor and one generated client, on either host. A name the core already uses would not
//! compile.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use agentos_core::runtime::instance::Lifecycle;
use agentos_core::runtime::{ActorError, ActorEvents, Bytes, Emitter};
use agentos_core::vm::fs::FileContent;
use agentos_core::{AgentOs, VmConfig};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One note of the notebook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub id: u32,
    pub text: String,
}

/// What `exportNotes` wrote into the VM and what the VM's `wc` made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportInfo {
    pub path: String,
    pub notes: u32,
    /// Words in the exported file, counted by `wc -w` inside the VM's sandbox.
    pub words: u32,
}

/// The app: its notebook and its VM.
pub struct NotesApp {
    vm: AgentOs,
    notes: Mutex<Vec<Note>>,
    file: PathBuf,
}

impl AsRef<AgentOs> for NotesApp {
    fn as_ref(&self) -> &AgentOs {
        &self.vm
    }
}

/// The notebook is saved on every change: only the VM can have work in progress.
impl Lifecycle for NotesApp {
    fn idle(&self) -> bool {
        self.vm.idle()
    }
}

impl NotesApp {
    /// Opens the app of one actor: its VM in `data_dir`, its notebook in `data_dir/notes.json`
    /// (outside the VM's root, so the VM cannot see or change it).
    pub fn open(
        data_dir: &Path,
        config: VmConfig,
        events: ActorEvents,
    ) -> Result<Self, ActorError> {
        let file = data_dir.join("notes.json");
        let notes = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ActorError::internal(format!("{}: {e}", file.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(ActorError::internal(format!("{}: {e}", file.display()))),
        };
        Ok(Self {
            vm: AgentOs::open(data_dir, config, events)?,
            notes: Mutex::new(notes),
            file,
        })
    }

    fn notes(&self) -> std::sync::MutexGuard<'_, Vec<Note>> {
        self.notes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[agentos_core::surface(actor = "agentOS", extends = agentos_core::AgentOs)]
impl NotesApp {
    /// Adds a note to the app's notebook, kept across restarts.
    #[action]
    pub fn add_note(&self, text: String) -> Result<Note, ActorError> {
        let mut notes = self.notes();
        let note = Note {
            id: notes.last().map_or(1, |n| n.id + 1),
            text,
        };
        notes.push(note.clone());
        let json = serde_json::to_vec(&*notes).map_err(|e| ActorError::internal(e.to_string()))?;
        std::fs::write(&self.file, json)
            .map_err(|e| ActorError::internal(format!("{}: {e}", self.file.display())))?;
        Ok(note)
    }

    /// The notebook, oldest first.
    #[action]
    pub fn list_notes(&self) -> Vec<Note> {
        self.notes().clone()
    }

    /// Writes the notebook into the VM at `path`, one note a line, and counts its words with
    /// `wc -w` run in the VM's sandbox: an app action built on the VM's own actions.
    #[action]
    pub async fn export_notes(&self, path: String) -> Result<ExportInfo, ActorError> {
        let notes = self.notes().clone();
        let text: String = notes.iter().map(|n| format!("{}\n", n.text)).collect();
        self.vm.write_file(path.clone(), FileContent::Text(text))?;
        let counted = self
            .vm
            .exec_argv(
                vec!["wc".to_owned(), "-w".to_owned(), path.clone()],
                None,
                Emitter::<Bytes>::discard(),
                Emitter::<Bytes>::discard(),
            )
            .await?;
        let words = counted
            .stdout
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok());
        let words = words.ok_or_else(|| {
            ActorError::internal(format!(
                "wc -w printed {:?}: {}",
                counted.stdout, counted.stderr
            ))
        })?;
        Ok(ExportInfo {
            path,
            notes: notes.len() as u32,
            words,
        })
    }
}
