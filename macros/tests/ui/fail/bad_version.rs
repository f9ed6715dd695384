pub struct Core;

#[agentos_macros::surface(actor = "demo", version = "1.0")]
impl Core {
    #[action]
    pub fn stat(&self) {}
}

pub struct Other;

#[agentos_macros::surface(actor = "demo", version = "01.2.3-beta")]
impl Other {
    #[action]
    pub fn stat(&self) {}
}

fn main() {}
