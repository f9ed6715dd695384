pub struct Core;

#[agentos_core::surface(actor = "demo")]
impl Core {
    #[action]
    fn ping(&self) -> u32 {
        1
    }
}

fn main() {}
