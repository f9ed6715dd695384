pub struct Core;

#[agentos_core::surface(actor = "demo", bridges(ask = String, u32))]
impl Core {
    #[action]
    pub fn ping(&self) {}
}

fn main() {}
