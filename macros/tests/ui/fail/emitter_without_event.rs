use agentos_runtime::Emitter;

pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn exec(&self, on_output: Emitter<String>) {
        on_output.emit(&"hi".to_owned());
    }

    #[action]
    pub fn run(&self, #[event("stdout")] command: String) -> String {
        command
    }
}

fn main() {}
