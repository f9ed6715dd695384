//! Bad input against the live embedded host: each case gets a typed error, and the next call
//! on the same connection succeeds. Every case runs in both encodings.

use agentos_core::runtime::{Encoding, Limits, Value};
use agentos_core::vm::fs::HostPathPolicy;
use agentos_host::embedded::{self, HostConfig, VmPolicy};
use agentos_tests::{RawClient, TOKEN, TestHost, request, text};

const LIMIT: u32 = 64 * 1024;

async fn host() -> TestHost {
    TestHost::start(Limits::with_message_bytes(LIMIT)).await
}

/// A host whose VMs may mount `dir` (and no other host directory), as `--allow-host-path`.
async fn host_allowing(dir: &std::path::Path) -> TestHost {
    let mut host_paths = HostPathPolicy::default();
    host_paths.allow(dir, false).unwrap();
    let data = tempfile::tempdir().unwrap();
    host_paths.protect(data.path()).unwrap();
    let config = agentos_core::VmConfig {
        host_paths,
        ..agentos_core::VmConfig::default()
    };
    let host = embedded::start(
        HostConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            token: TOKEN.into(),
            data_dir: data.path().to_path_buf(),
            limits: Limits::with_message_bytes(LIMIT),
            bridge_timeout: std::time::Duration::from_secs(5),
            web_root: None,
            vm_policy: VmPolicy::default(),
        },
        embedded::agent_os_kinds(config),
    )
    .await
    .unwrap();
    TestHost { host, data }
}

/// Asserts `result` is an error frame with `code`, then that the connection still works.
async fn assert_error_then_usable(
    client: &mut RawClient,
    result: Result<serde_json::Value, serde_json::Value>,
    code: &str,
) -> serde_json::Value {
    let err = result.expect_err("the call fails");
    assert_eq!(err["code"], code, "{err}");
    assert_eq!(err["group"], "agentos", "{err}");
    assert_eq!(
        client.call("exists", vec![text("/")]).await,
        Ok(true.into())
    );
    err
}

const ENCODINGS: [Encoding; 2] = [Encoding::Cbor, Encoding::Json];

#[tokio::test]
async fn wrong_type_names_the_action_and_argument() {
    let host = host().await;
    for encoding in ENCODINGS {
        let mut c = host.connect("errors", encoding).await;
        let r = c.call("stat", vec![Value::Integer(42.into())]).await;
        let err = assert_error_then_usable(&mut c, r, "invalid_input").await;
        let msg = err["message"].as_str().unwrap();
        assert!(msg.starts_with("stat: argument #1 `path`"), "{msg}");
        assert_eq!(err["metadata"]["argument"], "path");
    }
}

#[tokio::test]
async fn missing_and_extra_arguments() {
    let host = host().await;
    for encoding in ENCODINGS {
        let mut c = host.connect("errors", encoding).await;
        let r = c.call("stat", vec![]).await;
        let err = assert_error_then_usable(&mut c, r, "invalid_input").await;
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("missing required argument")
        );

        let r = c.call("stat", vec![text("/"), text("extra")]).await;
        let err = assert_error_then_usable(&mut c, r, "invalid_input").await;
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("takes 1 argument(s) but 2 were given")
        );

        // Trailing optional arguments may be omitted or sent as null.
        assert_eq!(
            c.call("mkdir", vec![text("/made")]).await,
            Ok(serde_json::Value::Null)
        );
        assert_eq!(
            c.call("delete", vec![text("/made"), Value::Null]).await,
            Ok(serde_json::Value::Null)
        );
    }
}

#[tokio::test]
async fn oversized_message_is_refused_with_its_id() {
    let host = host().await;
    for encoding in ENCODINGS {
        let mut c = host.connect("errors", encoding).await;
        let big = text(&"x".repeat(LIMIT as usize + 1));
        let r = c.call("writeFile", vec![text("/big"), big]).await;
        let err = assert_error_then_usable(&mut c, r, "limit_exceeded").await;
        assert!(
            err["message"]
                .as_str()
                .unwrap()
                .contains("exceeds the limit")
        );
        assert_eq!(c.call("exists", vec![text("/big")]).await, Ok(false.into()));
    }
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::Integer(1.into()), |v, _| Value::Array(vec![v]))
}

#[tokio::test]
async fn nesting_deeper_than_64_is_limit_exceeded() {
    let host = host().await;
    for encoding in ENCODINGS {
        let mut c = host.connect("errors", encoding).await;
        let r = c.call("writeFiles", vec![nested(65)]).await;
        let err = assert_error_then_usable(&mut c, r, "limit_exceeded").await;
        assert!(
            err["message"].as_str().unwrap().contains("nests 65 levels"),
            "{err}"
        );
        // At the limit the codec accepts it and the type check answers instead.
        let r = c.call("writeFiles", vec![nested(64)]).await;
        assert_error_then_usable(&mut c, r, "invalid_input").await;
        // Far deeper than any parser should recurse: still a typed error. JSON frames are
        // attributed (serde_json skips values without recursing); CBOR ones are not, since
        // reading the id would mean walking the nesting — the generated client refuses such
        // arguments before sending. The argument is spliced in as raw bytes; building it as
        // a value would recurse in this test.
        let deep = match encoding {
            Encoding::Cbor => [vec![0x81; 10_000], vec![0x01]].concat(),
            Encoding::Json => format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        };
        let marker = text("\u{1}deep");
        let template = c.frame(
            "ActionRequest",
            request(99, "writeFiles", vec![marker.clone()]),
        );
        let marker = encoding.encode(&marker).unwrap();
        let at = template
            .windows(marker.len())
            .position(|w| w == marker)
            .unwrap();
        c.send_raw([&template[..at], &deep, &template[at + marker.len()..]].concat())
            .await;
        let frame = c.next().await;
        assert_eq!(frame.tag, "Error");
        let attributed = match encoding {
            Encoding::Json => serde_json::json!(99),
            Encoding::Cbor => serde_json::Value::Null,
        };
        assert_eq!(frame.val["actionId"], attributed, "{encoding:?}");
        assert_error_then_usable(&mut c, Err(frame.val), "limit_exceeded").await;
    }
}

#[tokio::test]
async fn malformed_envelope_is_invalid_input() {
    let host = host().await;
    let mut c = host.connect("errors", Encoding::Json).await;
    for envelope in [
        r#"["$Uint8Array", 5]"#,
        r#"["$Uint8Array", "not base64!"]"#,
        r#"["$BigInt", "twelve"]"#,
        r#"["$Mystery", 1]"#,
    ] {
        let frame = format!(
            r#"{{"body":{{"tag":"ActionRequest","val":{{"id":77,"name":"writeFile","args":["/f", {envelope}]}}}}}}"#
        );
        c.send_raw(frame.into_bytes()).await;
        let err = c.response(77).await.expect_err("fails");
        assert_eq!(err["code"], "invalid_input", "{envelope}: {err}");
        assert_eq!(c.call("exists", vec![text("/")]).await, Ok(true.into()));
    }
}

#[tokio::test]
async fn unknown_action_and_garbage_frames() {
    let host = host().await;
    for encoding in ENCODINGS {
        let mut c = host.connect("errors", encoding).await;
        let r = c.call("formatDisk", vec![]).await;
        let err = assert_error_then_usable(&mut c, r, "unknown_action").await;
        assert!(err["message"].as_str().unwrap().contains("formatDisk"));

        c.send_raw(b"}{ not a frame".to_vec()).await;
        let frame = c.next().await;
        assert_eq!(frame.tag, "Error");
        assert_eq!(frame.val["code"], "invalid_input");
        assert!(frame.val["actionId"].is_null());

        let bytes = c.frame("Teleport", Value::Null);
        c.send_raw(bytes).await;
        let frame = c.next().await;
        assert_eq!(
            (frame.tag.as_str(), &frame.val["code"]),
            ("Error", &"invalid_input".into())
        );
        assert_eq!(c.call("exists", vec![text("/")]).await, Ok(true.into()));
    }
}

#[tokio::test]
async fn paths_escaping_a_host_dir_mount_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "top secret").unwrap();
    let shared = tempfile::tempdir().unwrap();
    std::fs::write(shared.path().join("ok.txt"), "fine").unwrap();
    let host = host_allowing(shared.path()).await;
    std::os::unix::fs::symlink(outside.path().join("secret"), shared.path().join("abs")).unwrap();
    let rel = format!(
        "../{}/secret",
        outside.path().file_name().unwrap().to_str().unwrap()
    );
    std::os::unix::fs::symlink(&rel, shared.path().join("rel")).unwrap();

    for encoding in ENCODINGS {
        let mut c = host.connect("escape", encoding).await;
        // The data directory and each VM's are traverse-only for other users.
        let actors = host.data.path().join("actors");
        let vm_dir = std::fs::read_dir(&actors).unwrap().next().unwrap().unwrap();
        for dir in [host.data.path(), &actors, &vm_dir.path()] {
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(dir).unwrap().permissions(),
            );
            assert_eq!(mode & 0o7777, 0o711, "{}", dir.display());
        }
        let driver = Value::Map(vec![
            (text("type"), text("hostDir")),
            (text("path"), text(shared.path().to_str().unwrap())),
        ]);
        c.call("mountFs", vec![text("/mnt/shared"), driver])
            .await
            .expect("mounts");
        assert_eq!(
            c.call("readTextFile", vec![text("/mnt/shared/ok.txt")])
                .await,
            Ok("fine".into())
        );
        for path in [
            "/mnt/shared/abs",
            "/mnt/shared/rel",
            "/mnt/shared/../../../etc/passwd",
        ] {
            let r = c.call("readTextFile", vec![text(path)]).await;
            let err = assert_error_then_usable(&mut c, r, "path_escape").await;
            assert!(!err["message"].as_str().unwrap().contains("top secret"));
        }
        c.call("unmountFs", vec![text("/mnt/shared")])
            .await
            .expect("unmounts");
        // Host directories the host does not allow, and its own data, are refused.
        let data = host.data.path().to_str().unwrap().to_owned();
        for path in ["/", "/etc", outside.path().to_str().unwrap(), &data] {
            for kind in ["hostDir", "overlay"] {
                let field = if kind == "hostDir" { "path" } else { "lower" };
                let driver =
                    Value::Map(vec![(text("type"), text(kind)), (text(field), text(path))]);
                let r = c.call("mountFs", vec![text("/mnt/host"), driver]).await;
                let err = assert_error_then_usable(&mut c, r, "invalid_input").await;
                let message = err["message"].as_str().unwrap();
                assert!(message.contains(&format!("`{path}`")), "{message}");
            }
        }
        assert_eq!(
            c.call("exists", vec![text("/mnt/host")]).await,
            Ok(false.into())
        );
    }
}

#[tokio::test]
async fn wrong_token_unknown_actor_and_unknown_encoding_fail_before_upgrade() {
    let host = host().await;
    let status = |e: tokio_tungstenite::tungstenite::Error| match e {
        tokio_tungstenite::tungstenite::Error::Http(resp) => resp.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    };
    for (actor, token, encoding, expected) in [
        ("agentOS", "wrong", "cbor", 401),
        ("nope", TOKEN, "cbor", 404),
        ("agentOS", TOKEN, "xml", 400),
    ] {
        let url = host.url(actor, "k", encoding);
        let err = RawClient::connect(&url, token, Encoding::Cbor)
            .await
            .err()
            .expect("refused");
        assert_eq!(status(err), expected, "{actor} {token} {encoding}");
    }
}

/// Output larger than a message is truncated and flagged, with the exit code kept, whatever
/// `maxOutputBytes` asks for: never a result lost to `limit_exceeded`.
#[tokio::test]
async fn exec_output_past_the_message_limit_is_truncated_not_lost() {
    let host = host().await;
    for encoding in ENCODINGS {
        let mut c = host.connect("output", encoding).await;
        for options in [
            Value::Null,
            Value::Map(vec![(
                text("maxOutputBytes"),
                Value::Integer(10_000_000.into()),
            )]),
        ] {
            // NULs (six bytes each in JSON) and invalid UTF-8 (three, once replaced).
            let script =
                "head -c 200000 /dev/zero; head -c 200000 /dev/zero | tr '\\0' '\\377' >&2; exit 3";
            let out = c.call("exec", vec![text(script), options]).await.unwrap();
            assert_eq!(out["exitCode"], 3);
            assert_eq!(out["stdoutTruncated"], true);
            assert_eq!(out["stderrTruncated"], true);
            let kept =
                out["stdout"].as_str().unwrap().len() + out["stderr"].as_str().unwrap().len();
            assert!(kept < LIMIT as usize, "{kept} bytes kept");
        }
    }
}
