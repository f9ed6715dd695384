//! Piped processes in resident namespaces: what they see and what they cannot, checked
//! against a bubblewrap of their own where both should agree.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::vm::exec::{self, ExecOptions, ExecResult};
use crate::vm::fs::HostBind;
use crate::vm::identity::VmUser;
use crate::vm::test_support::{processes_naming, vm_dir};

struct Vm {
    root: tempfile::TempDir,
    sandbox: Sandbox,
}

impl Vm {
    fn new() -> Self {
        Self {
            root: vm_dir(),
            sandbox: Sandbox::detect(SandboxMode::Bubblewrap, false, VmUser::default()),
        }
    }

    fn view(&self, mounts: Vec<HostBind>) -> HostView {
        HostView {
            root: self.root.path().to_owned(),
            mounts,
        }
    }

    fn plan(&self, view: &HostView, script: &str, options: &ExecOptions) -> Plan {
        let argv = ["/bin/sh", "-c", script].map(String::from);
        let env = options.env.clone().unwrap_or_default();
        let launch = Launch {
            argv: &argv,
            cwd: options.cwd.as_deref().unwrap_or("/"),
            env: &env,
            binds: &[],
        };
        let plan = self.sandbox.plan(view, &launch, false).unwrap();
        assert!(
            plan.resident.is_some(),
            "a piped plan enters resident namespaces"
        );
        plan
    }

    /// Runs `script` through `sh -c` in the resident namespaces of `view`.
    async fn run(&self, view: &HostView, script: &str, options: ExecOptions) -> ExecResult {
        let plan = self.plan(view, script, &options);
        exec::run(&plan, &options, |_| {}, |_| {}).await.unwrap()
    }

    /// Runs `script` in a bubblewrap of its own over `view`, as terminal plans still do.
    async fn run_in_bwrap(&self, view: &HostView, script: &str) -> ExecResult {
        let env = BTreeMap::from([
            ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
            ("HOME".to_owned(), etc::HOME.to_owned()),
        ]);
        let launch = Launch {
            argv: &[],
            cwd: "/",
            env: &env,
            binds: &[],
        };
        let mut args = self.sandbox.bwrap_args(view, &launch, &env);
        args.extend(["--", "/bin/sh", "-c", script].map(String::from));
        let plan = Plan {
            program: "bwrap".into(),
            args,
            env: BTreeMap::new(),
            cwd: view.root.clone(),
            acquires_terminal: false,
            wrappers: BWRAP_WRAPPERS,
            user: self.sandbox.user(),
            cgroup: None,
            net: self.sandbox.vm_net().cloned(),
            resident: None,
        };
        exec::run(&plan, &ExecOptions::default(), |_| {}, |_| {})
            .await
            .unwrap()
    }
}

fn timeout(ms: u32) -> ExecOptions {
    ExecOptions {
        timeout: Some(ms),
        ..ExecOptions::default()
    }
}

#[tokio::test]
async fn a_process_sees_the_vm_root_and_nothing_of_the_host() {
    let vm = Vm::new();
    let view = vm.view(vec![]);
    std::fs::write(vm.root.path().join("hello.txt"), "in the vm").unwrap();
    let secret = tempfile::tempdir().unwrap();
    std::fs::write(secret.path().join("secret.txt"), "host secret").unwrap();
    let seen = vm
        .run(&view, "cat /hello.txt", ExecOptions::default())
        .await;
    assert_eq!(
        (seen.exit_code, seen.stdout.as_str()),
        (Some(0), "in the vm")
    );
    let secret = secret.path().join("secret.txt");
    for path in [secret.to_str().unwrap(), "/etc/hostname", "/root"] {
        let r = vm
            .run(&view, &format!("cat {path}"), ExecOptions::default())
            .await;
        assert_ne!(r.exit_code, Some(0), "{path} is visible: {r:?}");
        assert!(!r.stdout.contains("host secret"));
    }
}

#[tokio::test]
async fn the_network_is_unreachable() {
    let vm = Vm::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    let r = vm
        .run(
            &vm.view(vec![]),
            &format!("bash -c '{script}'"),
            ExecOptions::default(),
        )
        .await;
    assert_ne!(r.exit_code, Some(0));
    assert!(!r.stdout.contains("connected"));
    assert!(listener.accept().is_err(), "no connection reached the host");
    let r = vm
        .run(
            &vm.view(vec![]),
            "cat /proc/net/dev",
            ExecOptions::default(),
        )
        .await;
    let interfaces: Vec<&str> = r.stdout.lines().skip(2).collect();
    assert_eq!(interfaces.len(), 1, "only loopback: {interfaces:?}");
    assert!(interfaces[0].trim_start().starts_with("lo:"));
}

#[tokio::test]
async fn with_the_network_allowed_the_host_is_reachable() {
    let vm = Vm {
        sandbox: Sandbox::detect(SandboxMode::Bubblewrap, true, VmUser::default()),
        ..Vm::new()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected'");
    let r = vm
        .run(&vm.view(vec![]), &script, ExecOptions::default())
        .await;
    assert_eq!(
        (r.exit_code, r.stdout.as_str()),
        (Some(0), "connected\n"),
        "{r:?}"
    );
    assert!(listener.accept().is_ok());
}

#[tokio::test]
async fn a_mount_added_later_is_seen_and_running_processes_keep_theirs() {
    let vm = Vm::new();
    let before = vm.view(vec![]);
    let old = vm
        .run(&before, "test -e /mnt/data/in.txt", ExecOptions::default())
        .await;
    assert_eq!(old.exit_code, Some(1));
    // A process started in the old view, still running when the view changes.
    let running = vm.plan(
        &before,
        "sleep 0.5; echo still here > /late.txt",
        &ExecOptions::default(),
    );
    let running =
        tokio::spawn(
            async move { exec::run(&running, &ExecOptions::default(), |_| {}, |_| {}).await },
        );
    let data = vm_dir();
    std::fs::write(data.path().join("in.txt"), "in the mount").unwrap();
    let after = vm.view(vec![HostBind {
        vm_path: "/mnt/data".into(),
        host_dir: data.path().to_owned(),
        read_only: true,
    }]);
    let r = vm
        .run(&after, "cat /mnt/data/in.txt", ExecOptions::default())
        .await;
    assert_eq!((r.exit_code, r.stdout.as_str()), (Some(0), "in the mount"));
    let r = vm
        .run(&after, "touch /mnt/data/nope", ExecOptions::default())
        .await;
    assert_ne!(r.exit_code, Some(0), "the mount is read-only");
    let done = running.await.unwrap().unwrap();
    assert_eq!(done.exit_code, Some(0), "{done:?}");
    let late = std::fs::read_to_string(vm.root.path().join("late.txt")).unwrap();
    assert_eq!(late, "still here\n");
}

/// Root inside the sandbox has no capabilities: the host's system directories stay read-only
/// whichever way the process was started.
#[tokio::test]
async fn the_system_directories_cannot_be_made_writable() {
    let vm = Vm::new();
    let view = vm.view(vec![]);
    let probe = std::path::Path::new("/usr/agentos-sandbox-probe");
    let script = format!(
        "mount -o remount,rw,bind /usr && touch {}; grep CapEff /proc/self/status",
        probe.display()
    );
    let ours = vm.run(&view, &script, ExecOptions::default()).await;
    let theirs = vm.run_in_bwrap(&view, &script).await;
    let escaped = probe.exists();
    let _ = std::fs::remove_file(probe);
    assert!(!escaped, "a sandboxed process wrote to the host's /usr");
    for r in [ours, theirs] {
        assert_eq!(r.stdout, "CapEff:\t0000000000000000\n", "{r:?}");
    }
}

#[tokio::test]
async fn it_looks_like_a_bubblewrap_of_its_own() {
    let vm = Vm::new();
    let view = vm.view(vec![]);
    // Identity, capabilities, signals, environment, hostname, pid, and the mounts (point and
    // options) but for /dev, which is read-only, and /dev/shm, a tmpfs of its own.
    let script = r#"grep -E '^(Uid|Gid|Groups|Cap...|NoNewPrivs|Seccomp|SigBlk|SigIgn):' /proc/self/status
        env | sort; hostname; echo "pid $$"; umask
        cut -d' ' -f5,6 /proc/self/mountinfo | grep -Ev '^/dev(/shm)? ' | sort"#;
    let ours = vm.run(&view, script, ExecOptions::default()).await;
    let theirs = vm.run_in_bwrap(&view, script).await;
    assert_eq!(ours.stderr, "");
    assert_eq!(ours.stdout, theirs.stdout);
    let dev = "cut -d' ' -f5,6 /proc/self/mountinfo | grep -E '^/dev(/shm)? '";
    let ours = vm.run(&view, dev, ExecOptions::default()).await;
    assert_eq!(
        ours.stdout,
        "/dev ro,nosuid,nodev,relatime\n/dev/shm rw,nosuid,nodev,relatime\n"
    );
}

#[tokio::test]
async fn each_process_gets_its_own_tmp_shm_and_pids() {
    let vm = Vm::new();
    let view = vm.view(vec![]);
    let script = "ls /tmp /dev/shm; touch /tmp/a /dev/shm/b; echo /proc/[0-9]*";
    let first = vm.run(&view, script, ExecOptions::default()).await;
    let second = vm.run(&view, script, ExecOptions::default()).await;
    // sh, pid 2, is alone in its pid namespace but for the init (pid 1, hidden).
    assert_eq!(first.stdout, "/dev/shm:\n\n/tmp:\n/proc/2\n");
    assert_eq!(second.stdout, first.stdout);
    let r = vm.run(&view, "touch /dev/x", ExecOptions::default()).await;
    assert_ne!(r.exit_code, Some(0), "/dev is read-only");
}

#[tokio::test]
async fn what_a_process_leaves_running_dies_with_it() {
    let vm = Vm::new();
    let marker = "31.4159";
    let r = vm
        .run(
            &vm.view(vec![]),
            &format!("setsid sleep {marker} >/dev/null 2>&1 &"),
            ExecOptions::default(),
        )
        .await;
    assert_eq!(r.exit_code, Some(0));
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_naming(marker) > 0 {
        assert!(
            Instant::now() < deadline,
            "the background sleep outlived the process"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_timeout_kills_the_tree_and_returns() {
    let vm = Vm::new();
    let started = Instant::now();
    let r = vm
        .run(
            &vm.view(vec![]),
            "sh -c 'sleep 30; echo late' & echo started; wait",
            timeout(300),
        )
        .await;
    assert!(r.timed_out);
    assert_eq!(r.stdout, "started\n");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn exit_codes_signals_cwd_env_and_missing_programs() {
    let vm = Vm::new();
    let view = vm.view(vec![]);
    std::fs::create_dir(vm.root.path().join("work")).unwrap();
    let options = ExecOptions {
        cwd: Some("/work".into()),
        env: Some(BTreeMap::from([("GREETING".into(), "hi".into())])),
        ..ExecOptions::default()
    };
    let r = vm
        .run(&view, "pwd; echo $GREETING $HOME; exit 7", options)
        .await;
    assert_eq!(
        (r.exit_code, r.stdout.as_str()),
        (Some(7), "/work\nhi /root\n")
    );
    let nowhere = ExecOptions {
        cwd: Some("/nowhere".into()),
        ..ExecOptions::default()
    };
    let r = vm.run(&view, "pwd", nowhere).await;
    assert_eq!(
        (r.exit_code, r.stderr.as_str()),
        (Some(1), "cannot change to the working directory /nowhere\n")
    );
    let r = vm.run(&view, "kill -TERM $$", ExecOptions::default()).await;
    assert_eq!((r.exit_code, r.signal.as_deref()), (None, Some("SIGTERM")));
    let r = vm
        .run(&view, "exec no-such-program", ExecOptions::default())
        .await;
    assert_eq!(r.exit_code, Some(127));
    let argv = ["no-such-program".to_owned()];
    let env = BTreeMap::new();
    let launch = Launch {
        argv: &argv,
        cwd: "/",
        env: &env,
        binds: &[],
    };
    let plan = vm.sandbox.plan(&view, &launch, false).unwrap();
    let r = exec::run(&plan, &ExecOptions::default(), |_| {}, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (r.exit_code, r.stderr.as_str()),
        (Some(127), "no-such-program: not found\n")
    );
}

impl Vm {
    /// Runs `script` through the plan of a launch with a host bind, which takes a bubblewrap
    /// of its own (as agents and terminals do) rather than the resident namespaces.
    async fn run_bound(&self, view: &HostView, script: &str) -> ExecResult {
        let argv = ["/bin/sh", "-c", script].map(String::from);
        let env = BTreeMap::new();
        let binds = ["/usr/bin/env".to_owned()];
        let launch = Launch {
            argv: &argv,
            cwd: "/",
            env: &env,
            binds: &binds,
        };
        let plan = self.sandbox.plan(view, &launch, false).unwrap();
        assert!(plan.resident.is_none());
        exec::run(&plan, &ExecOptions::default(), |_| {}, |_| {})
            .await
            .unwrap()
    }
}

/// Root in the sandbox is an unprivileged user on the host: `/proc/sys` cannot be written
/// (not even the sandbox's own network namespace's settings), and a setuid file it makes is
/// neither the host root's nor kept setuid for anyone but that user.
#[tokio::test]
async fn sandbox_root_is_not_host_root() {
    use std::os::unix::fs::MetadataExt;
    let vm = Vm::new();
    let view = vm.view(vec![]);
    let script = r#"id -u
        for f in /proc/sys/kernel/core_uses_pid /proc/sys/net/ipv4/ip_forward; do
            (echo 0 > $f) 2>/dev/null && echo "wrote $f"
        done
        touch /$1; chmod 4755 /$1"#;
    for (name, r) in [
        (
            "resident",
            vm.run(
                &view,
                &script.replace("$1", "resident"),
                ExecOptions::default(),
            )
            .await,
        ),
        (
            "bound",
            vm.run_bound(&view, &script.replace("$1", "bound")).await,
        ),
    ] {
        assert_eq!(
            (r.exit_code, r.stdout.as_str()),
            (Some(0), "0\n"),
            "{name}: {r:?}"
        );
        let meta = std::fs::metadata(vm.root.path().join(name)).unwrap();
        // SAFETY: geteuid cannot fail.
        let host = unsafe { libc::geteuid() };
        let expected = vm.sandbox.user().map_or(host, |user| user.uid);
        assert_eq!(meta.uid(), expected, "{name}");
        assert_ne!(meta.uid(), 0, "{name}: owned by the host's root");
    }
}

/// A host that ignores a signal (started under `nohup`) does not pass that on: sandboxed
/// processes, resident or bound, start with every signal at its default.
#[tokio::test]
async fn processes_start_with_default_signal_dispositions() {
    let vm = Vm::new();
    let view = vm.view(vec![]);
    let script = "grep SigIgn /proc/self/status";
    let before = vm.run(&view, script, ExecOptions::default()).await;
    // SAFETY: this test runs in a process of its own (nextest), so no other test sees it.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    let resident = vm.run(&view, script, ExecOptions::default()).await;
    let bound = vm.run_bound(&view, script).await;
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_DFL) };
    assert_eq!(resident.stdout, before.stdout);
    assert_eq!(bound.stdout, before.stdout);
}

#[tokio::test]
async fn the_init_holding_a_copy_of_the_host_is_out_of_reach() {
    let vm = Vm::new();
    // The init is a clone of the host process: its command line, environment and memory
    // are the host's.
    let script =
        "cat /proc/1/cmdline; cat /proc/1/environ; head -c 1 /proc/1/mem; echo /proc/[0-9]*";
    let r = vm
        .run(&vm.view(vec![]), script, ExecOptions::default())
        .await;
    assert_eq!(r.stdout, "/proc/2\n", "{r:?}");
    let r = vm
        .run(
            &vm.view(vec![]),
            "exec 3</proc/1/environ",
            ExecOptions::default(),
        )
        .await;
    assert_ne!(r.exit_code, Some(0));
}

/// Extra host paths land under `HOST_BINDS`, after the private `/tmp` they live in, and
/// argv entries naming them (or paths inside them) follow; other arguments stay as given.
#[test]
fn binds_are_mounted_in_tmp_and_argv_follows_them() {
    let sandbox = Sandbox::detect(SandboxMode::Bubblewrap, false, VmUser::default());
    let view = HostView {
        root: PathBuf::from("/data/vm/root"),
        mounts: Vec::new(),
    };
    let argv = [
        "/opt/agent/bin/run",
        "/opt/agent/lib/main.py",
        "/opt/agentx",
        "--x",
    ]
    .map(String::from);
    let binds = ["/opt/agent".to_owned()];
    let launch = Launch {
        argv: &argv,
        cwd: "/",
        env: &BTreeMap::new(),
        binds: &binds,
    };
    let args = sandbox.plan(&view, &launch, false).unwrap().args;
    let at = |needle: &[&str]| args.windows(needle.len()).position(|w| w == needle);
    let tmp = at(&["--tmpfs", "/tmp"]).unwrap();
    let bind = at(&["--ro-bind", "/opt/agent", "/tmp/.agentos-host/opt/agent"]).unwrap();
    assert!(tmp < bind);
    let command = &args[args.iter().position(|a| a == "--").unwrap() + 1..];
    assert_eq!(
        command,
        [
            "/tmp/.agentos-host/opt/agent/bin/run",
            "/tmp/.agentos-host/opt/agent/lib/main.py",
            "/opt/agentx",
            "--x"
        ]
    );
}
