pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action(name = "mount-fs")]
    pub fn mount_fs(&self) {}

    #[action(name = "Ping")]
    pub fn ping(&self) {}
}

fn main() {}
