pub struct Core;

#[agentos_core::surface(name = "demo")]
impl Core {
    #[action]
    pub fn ping(&self) {}
}

fn main() {}
