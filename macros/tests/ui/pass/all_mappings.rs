//! A surface using every mapping: actions (renamed, deprecated, sync, async, fallible,
//! infallible), emitters, a bridge, a hook and an unsupported method.
use agentos_runtime::{ActorError, Bridge, Emitter, Surface};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Serialize, Deserialize, TS)]
pub struct Chunk {
    pub index: u32,
}

pub struct Core {
    events: CoreEvents,
}

#[agentos_macros::surface(actor = "demo", events(finished = Chunk))]
impl Core {
    /// Raises the actor's own `finished` event.
    #[action]
    pub fn finish(&self, index: u32) {
        self.events.finished(&Chunk { index });
    }

    /// Adds two numbers.
    #[action]
    pub fn add(&self, a: i32, b: Option<i32>) -> i32 {
        a + b.unwrap_or(0)
    }

    #[action(name = "fetchChunks", deprecated = "use `stream`")]
    pub async fn chunks(
        &self,
        count: u32,
        #[event("chunk")] on_chunk: Emitter<Chunk>,
    ) -> Result<(), ActorError> {
        for index in 0..count {
            on_chunk.emit(&Chunk { index });
        }
        Ok(())
    }

    #[action]
    pub async fn ask(
        &self,
        question: String,
        #[bridge("answer")] answer: Bridge<String, u32>,
    ) -> Result<u32, ActorError> {
        answer.call(&question).await
    }

    #[hook]
    pub fn set_clock(&self, _clock: std::sync::Arc<dyn Fn() -> u64 + Send + Sync>) {}

    #[unsupported(reason = "raw handles cannot cross the wire")]
    pub fn raw_handle(&self) -> *const u8 {
        std::ptr::null()
    }

    fn private_helper(&self) {}
}

fn main() {
    let contract = <Core as Surface>::contract();
    assert_eq!(contract.actor, "demo");
    let names: Vec<_> = contract.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["finish", "add", "fetchChunks", "ask", "respondAnswer"]);
    let _ = demo_dtos();
    let sink: std::sync::Arc<dyn agentos_runtime::EventSink> = std::sync::Arc::new(agentos_runtime::Discard);
    let core = Core {
        events: CoreEvents::new(agentos_runtime::ActorEvents::new(sink)),
    };
    core.private_helper();
}


fn demo_dtos() -> core_actions::Add {
    core_actions::Add { a: 1, b: None }
}
