use agentos_runtime::Emitter;

pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn exec(&self, #[event("output")] on_output: Emitter<String>) {
        on_output.emit(&"hi".to_owned());
    }

    #[action]
    pub fn output(&self) {}
}

fn main() {}
