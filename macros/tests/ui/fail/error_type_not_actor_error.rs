pub struct Core;

#[derive(Debug)]
pub struct MyError;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub fn ping(&self) -> Result<u32, MyError> {
        Err(MyError)
    }
}

fn main() {}
