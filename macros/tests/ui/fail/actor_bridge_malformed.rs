pub struct Core;

#[agentos_macros::surface(actor = "demo", bridges(ask = String, u32))]
impl Core {
    #[action]
    pub fn ping(&self) {}
}

fn main() {}
