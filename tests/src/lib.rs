//! Test support: an in-process embedded host on a free loopback port and a raw protocol
//! client that sends exactly the frames a test chooses, so hostile input can be tried.

use std::time::Duration;

use agentos_core::runtime::{Encoding, Limits, Value};
use agentos_host::embedded::{self, HostConfig, RunningHost, VmPolicy};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub const TOKEN: &str = "test-token";

/// A host serving `agentOS` from a temporary data directory.
pub struct TestHost {
    pub host: RunningHost,
    pub data: tempfile::TempDir,
}

impl TestHost {
    pub async fn start(limits: Limits) -> Self {
        Self::with_policy(limits, VmPolicy::default()).await
    }

    /// A host that closes idle VMs as `policy` says.
    pub async fn with_policy(limits: Limits, vm_policy: VmPolicy) -> Self {
        Self::with(limits, vm_policy, None).await
    }

    /// A host that serves `web_root` under `/terminal/`.
    pub async fn with_web_root(web_root: std::path::PathBuf) -> Self {
        Self::with(Limits::default(), VmPolicy::default(), Some(web_root)).await
    }

    async fn with(
        limits: Limits,
        vm_policy: VmPolicy,
        web_root: Option<std::path::PathBuf>,
    ) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let host = embedded::start(
            HostConfig {
                listen: "127.0.0.1:0".parse().expect("addr"),
                token: TOKEN.into(),
                data_dir: data.path().to_path_buf(),
                limits,
                bridge_timeout: Duration::from_secs(5),
                web_root,
                vm_policy,
            },
            embedded::agent_os_kinds(agentos_core::VmConfig {
                answer_limit: Some(limits.max_message_bytes.into()),
                ..agentos_core::VmConfig::default()
            }),
        )
        .await
        .expect("host starts");
        Self { host, data }
    }

    pub fn url(&self, actor: &str, key: &str, encoding: &str) -> String {
        format!(
            "ws://{}/actors/{actor}/{key}/connect?encoding={encoding}",
            self.host.addr
        )
    }

    pub async fn connect(&self, key: &str, encoding: Encoding) -> RawClient {
        let name = match encoding {
            Encoding::Cbor => "cbor",
            Encoding::Json => "json",
        };
        RawClient::connect(&self.url("agentOS", key, name), TOKEN, encoding)
            .await
            .expect("connects")
    }
}

/// Where the workspace's binaries are (`scripts/setup.sh` builds them); `var` overrides.
pub fn binary(var: &str, name: &str) -> std::path::PathBuf {
    std::env::var_os(var).map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/debug")
                .join(name)
        },
        std::path::PathBuf::from,
    )
}

/// `agentos serve` on a free loopback port with `data_dir`, token [`TOKEN`], and the test
/// agent registered as `test`; add flags, or a user, before [`ServeProcess::start`].
pub fn serve_command(data_dir: &std::path::Path) -> std::process::Command {
    let agent = binary("AGENTOS_TEST_AGENT", "agentos-test-agent");
    let mut command = std::process::Command::new(binary("AGENTOS_BIN", "agentos"));
    command
        .args(["serve", "--port", "0", "--token", TOKEN, "--data-dir"])
        .arg(data_dir)
        .arg("--agent")
        .arg(format!("test={}", agent.display()))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    command
}

/// The `agentos serve` binary running as a child of the test, killed when dropped.
pub struct ServeProcess {
    pub child: tokio::process::Child,
    /// `ws://host:port`.
    pub url: String,
}

impl ServeProcess {
    /// Starts `command` (see [`serve_command`]) and waits for the URL it prints.
    pub async fn start(command: std::process::Command) -> Self {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .expect("agentos serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next_line()
                .await
                .expect("reads")
                .expect("the host prints its URL");
            if let Some(url) = line.strip_prefix("AGENTOS_URL=") {
                break url.to_owned();
            }
        };
        // The host goes on printing (its token, say): a closed pipe would fail it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, url }
    }

    pub async fn connect(&self, key: &str) -> RawClient {
        RawClient::connect(
            &format!("{}/actors/agentOS/{key}/connect?encoding=json", self.url),
            TOKEN,
            Encoding::Json,
        )
        .await
        .expect("connects")
    }

    /// Kills the host at once, as a crash would.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("killed");
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A protocol client with no conveniences beyond framing.
pub struct RawClient {
    ws: Ws,
    pub encoding: Encoding,
    pub init: Value,
    next_id: u64,
}

/// A decoded server frame: its tag and value.
#[derive(Debug, Clone)]
pub struct Frame {
    pub tag: String,
    pub val: serde_json::Value,
}

impl RawClient {
    pub async fn connect(
        url: &str,
        token: &str,
        encoding: Encoding,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut request = url.into_client_request()?;
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request).await?;
        let mut client = Self {
            ws,
            encoding,
            init: Value::Null,
            next_id: 0,
        };
        client.init = client.next_raw().await;
        Ok(client)
    }

    /// Sends bytes as one frame of this connection's kind.
    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        let msg = match self.encoding {
            Encoding::Cbor => Message::Binary(bytes.into()),
            Encoding::Json => Message::Text(String::from_utf8(bytes).expect("utf8").into()),
        };
        self.ws.send(msg).await.expect("send");
    }

    pub fn frame(&self, tag: &str, val: Value) -> Vec<u8> {
        let frame = Value::Map(vec![(
            Value::Text("body".into()),
            Value::Map(vec![
                (Value::Text("tag".into()), Value::Text(tag.into())),
                (Value::Text("val".into()), val),
            ]),
        )]);
        self.encoding.encode(&frame).expect("encodes")
    }

    /// Sends an action request with `args` and returns its id.
    pub async fn request(&mut self, name: &str, args: Vec<Value>) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let bytes = self.frame("ActionRequest", request(id, name, args));
        self.send_raw(bytes).await;
        id
    }

    pub async fn subscribe(&mut self, event: &str) {
        let val = Value::Map(vec![
            (Value::Text("eventName".into()), Value::Text(event.into())),
            (Value::Text("subscribe".into()), Value::Bool(true)),
        ]);
        let bytes = self.frame("SubscriptionRequest", val);
        self.send_raw(bytes).await;
    }

    async fn next_raw(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect("a frame within 30 s")
                .expect("connection open")
                .expect("frame");
            let bytes = match msg {
                Message::Binary(b) => b.to_vec(),
                Message::Text(t) => t.as_bytes().to_vec(),
                _ => continue,
            };
            return self.encoding.decode(&bytes).expect("server frames decode");
        }
    }

    /// Reads and discards frames until the host closes the connection; the close code it
    /// gave, if any.
    pub async fn until_closed(&mut self) -> Option<u16> {
        while let Some(msg) = self.ws.next().await {
            match msg {
                Ok(Message::Close(frame)) => return frame.map(|f| f.code.into()),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// The next frame, as JSON for easy assertions (bytes become `["$Uint8Array", …]`).
    pub async fn next(&mut self) -> Frame {
        let value = self.next_raw().await;
        let json: serde_json::Value =
            serde_json::from_slice(&Encoding::Json.encode(&value).expect("json")).expect("json");
        Frame {
            tag: json["body"]["tag"].as_str().unwrap_or_default().to_owned(),
            val: json["body"]["val"].clone(),
        }
    }

    /// Calls an action; `Ok(output)` or `Err(error frame)`, skipping events.
    pub async fn call(
        &mut self,
        name: &str,
        args: Vec<Value>,
    ) -> Result<serde_json::Value, serde_json::Value> {
        let id = self.request(name, args).await;
        self.response(id).await
    }

    /// Waits for the response to request `id`, skipping events and other frames.
    pub async fn response(&mut self, id: u64) -> Result<serde_json::Value, serde_json::Value> {
        loop {
            let frame = self.next().await;
            match frame.tag.as_str() {
                "ActionResponse" if frame.val["id"] == id => return Ok(frame.val["output"].clone()),
                "Error" if frame.val["actionId"] == id => return Err(frame.val),
                _ => {}
            }
        }
    }
}

/// The value of an `ActionRequest` frame.
pub fn request(id: u64, name: &str, args: Vec<Value>) -> Value {
    Value::Map(vec![
        (Value::Text("id".into()), Value::Integer(id.into())),
        (Value::Text("name".into()), Value::Text(name.into())),
        (Value::Text("args".into()), Value::Array(args)),
    ])
}

/// Shorthand for a text value.
pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}
