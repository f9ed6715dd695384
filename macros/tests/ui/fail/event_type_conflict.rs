use agentos_runtime::Emitter;

pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn a(&self, #[event("output")] on_output: Emitter<String>) {
        on_output.emit(&"a".to_owned());
    }

    #[action]
    pub fn b(&self, #[event("output")] on_output: Emitter<u32>) {
        on_output.emit(&1);
    }
}

fn main() {}
