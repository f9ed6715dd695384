pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn then(&self) {}

    #[action(name = "on")]
    pub fn subscribe(&self) {}
}

fn main() {}
