pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn mutate(&mut self) {}

    #[action]
    pub fn consume(self) {}

    #[action]
    pub fn create() -> Self {
        Core
    }
}

fn main() {}
