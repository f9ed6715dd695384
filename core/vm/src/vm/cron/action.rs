//! What a job does when it fires: an `exec`, a prompt in a session of its own (closed after
//! the turn), or a `scheduledEvent`. Cron owns none of the VM's parts these run with.

use std::sync::Arc;

use serde_json::Value as Json;

use super::{CronAction, Listener, ScheduledEvent};
use crate::runtime::ActorError;
use crate::vm::exec::{self, Exec};
use crate::vm::session::{PromptInput, Sessions};

/// The VM's parts that jobs' actions run with.
pub(crate) struct Actions {
    exec: Exec,
    sessions: Arc<Sessions>,
}

impl Actions {
    pub(crate) fn new(exec: Exec, sessions: Arc<Sessions>) -> Self {
        Self { exec, sessions }
    }

    /// Runs job `job_id`'s `action`; an event goes to `listener`. The value is the run's
    /// result.
    pub(super) async fn run(
        &self,
        listener: &dyn Listener,
        job_id: String,
        action: CronAction,
    ) -> Result<Json, ActorError> {
        match action {
            CronAction::Exec {
                command,
                args,
                options,
            } => {
                let argv: Vec<String> = match args {
                    Some(args) => std::iter::once(command).chain(args).collect(),
                    None => exec::through_shell(command),
                };
                let result = (self.exec)
                    .run(&argv, options.unwrap_or_default(), |_| {}, |_| {})
                    .await?;
                json(&result)
            }
            CronAction::Session {
                agent_type,
                prompt,
                options,
            } => {
                let sessions = &self.sessions;
                let session = sessions
                    .create(agent_type, options.unwrap_or_default())
                    .await?;
                let result = sessions
                    .prompt(&session.session_id, PromptInput::Text(prompt))
                    .await;
                if let Err(err) = sessions.close(&session.session_id).await {
                    tracing::warn!(job = job_id, %err, "a cron session did not close");
                }
                json(&result?)
            }
            CronAction::Event { name, payload } => {
                listener.scheduled_event(&ScheduledEvent {
                    job_id,
                    name,
                    payload,
                });
                Ok(Json::Null)
            }
        }
    }
}

fn json(value: &impl serde::Serialize) -> Result<Json, ActorError> {
    serde_json::to_value(value).map_err(|e| ActorError::internal(format!("a run's result: {e}")))
}
