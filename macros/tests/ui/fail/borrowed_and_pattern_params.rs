pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn read(&self, path: &str) -> u32 {
        path.len() as u32
    }

    #[action]
    pub fn add(&self, (a, b): (u32, u32)) -> u32 {
        a + b
    }

    #[action]
    pub fn each(&self, items: impl Iterator<Item = u32>) -> u32 {
        items.sum()
    }
}

fn main() {}
