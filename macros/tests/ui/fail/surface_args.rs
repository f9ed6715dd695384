pub struct Core;

#[agentos_macros::surface(name = "demo")]
impl Core {
    #[action]
    pub fn ping(&self) {}
}

fn main() {}
