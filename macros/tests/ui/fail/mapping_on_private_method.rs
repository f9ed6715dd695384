pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    fn ping(&self) -> u32 {
        1
    }
}

fn main() {}
