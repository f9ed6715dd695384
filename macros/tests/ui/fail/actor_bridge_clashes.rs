pub struct Core;

#[agentos_macros::surface(
    actor = "demo",
    events(ping = String),
    bridges(ping = String => u32, ask = String => u32, ask = String => u32, Bad = u32 => u32)
)]
impl Core {
    #[action]
    pub fn respond_ask(&self) {}
}

fn main() {}
