pub struct Core;

pub trait Ping {
    fn ping(&self);
}

#[agentos_macros::surface(actor = "demo")]
impl Ping for Core {
    fn ping(&self) {}
}

fn main() {}
