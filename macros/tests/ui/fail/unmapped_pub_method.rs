pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn ping(&self) -> u32 {
        1
    }

    pub fn forgot_to_decide(&self) -> u32 {
        2
    }
}

fn main() {}
