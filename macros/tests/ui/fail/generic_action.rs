pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn echo<T: serde::Serialize>(&self, value: T) -> T {
        value
    }
}

fn main() {}
