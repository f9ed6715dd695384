pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[unsupported]
    pub fn raw(&self) {}

    #[unsupported(reason = "  ")]
    pub fn raw_blank(&self) {}
}

fn main() {}
