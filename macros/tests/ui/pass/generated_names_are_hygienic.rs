//! Parameters named like the generated code's locals (`args`, `ctx`, `action`, `output`)
//! compile and reach the method: the generated locals are hygienic.

use agentos_runtime::{ActorError, Emitter};

pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn spawn(&self, action: String, args: Vec<String>, output: Option<u32>) -> Vec<String> {
        let mut all = vec![action];
        all.extend(args);
        all.extend(output.map(|n| n.to_string()));
        all
    }

    #[action]
    pub fn notify(&self, #[event("ping")] ctx: Emitter<String>) -> Result<(), ActorError> {
        ctx.emit(&"pong".to_owned());
        Ok(())
    }
}

fn main() {}
