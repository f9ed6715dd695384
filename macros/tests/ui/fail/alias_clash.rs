pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn stat(&self) {}

    #[action(alias = "stat", alias = "lstat", alias = "bad name")]
    pub fn stat_link(&self) {}

    #[action(alias = "lstat")]
    pub fn lstat_too(&self) {}
}

fn main() {}
