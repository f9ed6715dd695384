use agentos_runtime::Bridge;

pub struct Core;

#[agentos_macros::surface(actor = "demo")]
impl Core {
    #[action]
    pub async fn ask(&self, answer: Bridge<String, u32>) -> u32 {
        answer.call(&"q".to_owned()).await.unwrap_or(0)
    }

    #[action]
    pub fn plain(&self, #[bridge("answer")] value: u32) -> u32 {
        value
    }

    #[action]
    pub fn unnamed(&self, #[event] value: u32) -> u32 {
        value
    }
}

fn main() {}
