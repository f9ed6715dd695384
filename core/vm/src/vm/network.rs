//! The VM's ports as the host reaches them ([`super::sandbox::VmNetwork`]): `vmFetch`, and
//! the signed preview URLs a host serves by proxying to them.

mod fetch;
mod preview;

use std::sync::Arc;

pub use fetch::{VmFetchOptions, VmFetchResult};
pub use preview::{PreviewLimits, PreviewUrl, Previews};

use super::sandbox::Sandbox;
use crate::runtime::ActorError;
use crate::runtime::instance::PreviewTarget;

pub struct Network {
    sandbox: Arc<Sandbox>,
    previews: Previews,
    /// The largest body `vmFetch` returns.
    max_body: usize,
}

impl Network {
    pub fn new(sandbox: Arc<Sandbox>, previews: Previews, max_body: usize) -> Self {
        Self {
            sandbox,
            previews,
            max_body,
        }
    }

    pub async fn fetch(
        &self,
        port: u16,
        url: &str,
        options: VmFetchOptions,
    ) -> Result<VmFetchResult, ActorError> {
        let request = fetch::request(port, url, options)?;
        let stream = self.sandbox.connect(port).await?;
        fetch::fetch(stream, port, request, self.max_body).await
    }

    pub fn previews(&self) -> &Previews {
        &self.previews
    }
}

/// A preview URL's requests reach the port its token names.
#[async_trait::async_trait]
impl PreviewTarget for Network {
    fn preview_port(&self, token: &str) -> Result<u16, ActorError> {
        self.previews.port(token)
    }

    async fn connect(&self, port: u16) -> Result<tokio::net::TcpStream, ActorError> {
        self.sandbox.connect(port).await
    }
}
