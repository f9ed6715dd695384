//! Everyday tools in the sandbox: a user name, a writable home, `git commit`, name lookup of
//! `localhost`, and with the network allowed the host's name servers and CA certificates.

mod common;

use std::sync::Arc;

use agentos_core::runtime::{ActorEvents, Discard, Emitter};
use agentos_core::vm::fs::FileContent;
use agentos_core::{AgentOs, VmConfig};
use common::run;

fn open(dir: &std::path::Path, allow_network: bool) -> AgentOs {
    let config = VmConfig {
        allow_network,
        ..VmConfig::default()
    };
    AgentOs::open(dir, config, ActorEvents::new(Arc::new(Discard))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vm_has_a_user_a_home_hosts_and_says_it_has_no_network() {
    let dir = tempfile::tempdir().unwrap();
    let os = open(dir.path(), false);
    assert_eq!(
        run(&os, "id -un; echo $HOME; hostname").await,
        "root\n/root\nagentos\n"
    );
    assert_eq!(
        run(&os, "getent hosts localhost").await,
        "::1             localhost ip6-localhost ip6-loopback\n"
    );
    let v4 = "python3 -c \"import socket; print(socket.gethostbyname('localhost'))\"";
    assert_eq!(run(&os, v4).await, "127.0.0.1\n");
    let resolv = run(&os, "cat /etc/resolv.conf").await;
    assert!(resolv.contains("no network"), "{resolv}");
    assert!(!resolv.contains("nameserver"), "{resolv}");
    let log = run(
        &os,
        "git config --global user.name 'Ada' && git config --global user.email ada@example.com \
         && git init -q /work && cd /work && echo x > f && git add f && git commit -qm first \
         && git log --format='%an <%ae> %s'",
    )
    .await;
    assert_eq!(log, "Ada <ada@example.com> first\n");
    // They are the VM's files: readable through actions, kept as a process edits them.
    assert!(os.read_file("/root/.gitconfig".into()).is_ok());
    run(&os, "echo '10.0.0.1 db' >> /etc/hosts").await;
    assert!(run(&os, "getent hosts db").await.starts_with("10.0.0.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_network_allowed_the_host_resolver_and_certificates_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    let os = open(dir.path(), true);
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    assert_eq!(run(&os, "cat /etc/resolv.conf").await, host);
    let cas = run(
        &os,
        "python3 -c \"import ssl; print(ssl.create_default_context().cert_store_stats()['x509_ca'])\"",
    )
    .await;
    assert!(cas.trim().parse::<u32>().unwrap() > 0, "{cas}");
    // Bound read-only: a process cannot point the VM at other name servers through it.
    let result = os
        .exec(
            "echo nameserver 10.9.9.9 > /etc/resolv.conf".into(),
            None,
            Emitter::discard(),
            Emitter::discard(),
        )
        .await
        .unwrap();
    assert_ne!(result.exit_code, Some(0));
    // A file the VM wrote itself is never replaced.
    os.write_file("/etc/hostname".into(), FileContent::Text("mine\n".into()))
        .unwrap();
    assert_eq!(run(&os, "cat /etc/hostname").await, "mine\n");
}
