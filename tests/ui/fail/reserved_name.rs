pub struct Core;

#[agentos_core::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn then(&self) {}

    #[action(name = "on")]
    pub fn subscribe(&self) {}
}

fn main() {}
