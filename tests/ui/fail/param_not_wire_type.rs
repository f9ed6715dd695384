pub struct Core;

pub struct Handle;

#[agentos_core::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn open(&self, file: std::fs::File) -> u32 {
        drop(file);
        1
    }

    #[action]
    pub fn open_handle(&self) -> Handle {
        Handle
    }
}

fn main() {}
