pub struct Core;

#[agentos_macros::surface(actor = "demo", events(ping = String, Pong = u32, ping = String))]
impl Core {
    #[action]
    pub fn ping(&self) {}
}

fn main() {}
