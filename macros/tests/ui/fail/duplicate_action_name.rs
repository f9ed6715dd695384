pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn stat(&self) {}

    #[action(name = "stat")]
    pub fn stat_again(&self) {}
}

fn main() {}
