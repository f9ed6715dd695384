pub struct Core;

/// A live resource: neither serde nor ts-rs.
pub struct Socket;

pub struct Handle;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn open(&self, socket: Socket) -> u32 {
        drop(socket);
        1
    }

    #[action]
    pub fn open_handle(&self) -> Handle {
        Handle
    }
}

fn main() {}
