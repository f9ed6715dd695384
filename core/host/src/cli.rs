//! `serve` on the embedded host, which any surface (the core's, or an app's that extends it)
//! runs through, with the flags every host shares (`agentos_core::cli`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use agentos_core::cli::{LimitArgs, Open, VmArgs, raise_fd_limit, shutdown_signal};
use agentos_core::runtime::Surface;

use crate::embedded::{self, HostConfig, Kind, Lifecycle, VmPolicy};

/// `serve` on the embedded host: loopback WebSocket and HTTP, a bearer token, state in a
/// data directory.
#[derive(Debug, Clone, clap::Args)]
pub struct EmbeddedServe {
    /// Address to listen on; anything but loopback exposes the VMs to the network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 6420)]
    pub port: u16,
    /// Bearer token clients must present; generated and printed when absent.
    #[arg(long, env = "AGENTOS_TOKEN")]
    pub token: Option<String>,
    /// Where VMs and the host's SQLite state live.
    #[arg(long, default_value = ".agentos")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub vm: VmArgs,
    /// Serve this directory under `/terminal/`: pass `bindings/web` for the browser
    /// terminal page.
    #[arg(long, env = "AGENTOS_WEB_ROOT")]
    pub web_root: Option<PathBuf>,
    /// Close a VM after this many seconds with no connection and nothing running (it opens
    /// again on the next connection, files and all).
    #[arg(long, value_name = "SECONDS", default_value_t = VmPolicy::default().idle_timeout.as_secs())]
    pub vm_idle_timeout_secs: u64,
    /// The most VMs open at once; past it the longest idle one is closed to make room.
    #[arg(long, value_name = "N", default_value_t = VmPolicy::default().max_live)]
    pub max_vms: usize,
}

impl EmbeddedServe {
    /// Serves surface `S` under its contract's actor name until SIGTERM or Ctrl-C. Prints
    /// `AGENTOS_URL=…` and `AGENTOS_TOKEN=…` on stdout first: tests and scripts read them.
    pub async fn run<S: Surface + Lifecycle>(
        self,
        open: impl Open<S>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        raise_fd_limit()?;
        let mut vm = self
            .vm
            .config(self.data_dir.join(agentos_core::vm::store::FILE))?;
        vm.answer_limit = Some(self.limits.max_message_bytes.into());
        let token = self.token.unwrap_or_else(embedded::generate_token);
        let kind = Kind::of(move |dir, events| open(dir, vm.clone(), events));
        let running = embedded::start(
            HostConfig {
                listen: SocketAddr::new(self.host, self.port),
                token: token.clone(),
                data_dir: self.data_dir,
                limits: self.limits.limits(),
                bridge_timeout: self.limits.bridge_timeout(),
                web_root: self.web_root.clone(),
                vm_policy: VmPolicy {
                    idle_timeout: Duration::from_secs(self.vm_idle_timeout_secs),
                    max_live: self.max_vms,
                },
            },
            HashMap::from([(S::contract().actor.clone(), kind)]),
        )
        .await?;
        println!("AGENTOS_URL=ws://{}", running.addr);
        println!("AGENTOS_TOKEN={token}");
        eprintln!(
            "{} host listening on ws://{} — connect with createAgentOsClient(webSocketTransport({{ url, token }}))",
            S::contract().actor,
            running.addr
        );
        if self.web_root.is_some() {
            // The token travels in the fragment, which the browser never sends to a server.
            eprintln!(
                "browser console: http://{}{}/#token={token}",
                running.addr,
                embedded::WEB_PATH
            );
        }
        shutdown_signal().await?;
        running.stop().await?;
        Ok(())
    }
}
