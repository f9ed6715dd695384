use agentos_core::AgentOs;

pub struct App {
    vm: AgentOs,
}

impl AsRef<AgentOs> for App {
    fn as_ref(&self) -> &AgentOs {
        &self.vm
    }
}

#[agentos_core::surface(actor = "agentOS", extends = agentos_core::AgentOs)]
impl App {
    /// Clashes with the built-in action of the same name.
    #[action]
    pub fn exists(&self, path: String) -> bool {
        path.is_empty()
    }

    /// Renamed onto a built-in event.
    #[action(name = "shellData")]
    pub fn shell_data(&self) {}

    /// Fine: a name of its own.
    #[action]
    pub fn greet(&self) -> String {
        "hi".to_owned()
    }
}

fn main() {}
