use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::error::code;
use crate::vm::child::pty::PtySize;
use crate::vm::sandbox::SandboxMode;
use crate::vm::test_support::{
    CHILDREN_RUNNING as SHELLS_RUNNING, DEADLINE, children, fds, group_exists, launcher, sandboxes,
    until,
};

type Recorder = crate::vm::test_support::Recorder<Event>;

const SIZE: PtySize = PtySize { cols: 80, rows: 24 };

/// What a shell reported, in order.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Data(Vec<u8>),
    Exit(ShellExit),
}

struct Vm {
    root: tempfile::TempDir,
    shells: Shells,
}

impl Vm {
    fn new() -> Self {
        let root = crate::vm::test_support::vm_dir();
        let launcher = launcher(SandboxMode::Bubblewrap, root.path());
        Self {
            root,
            shells: Shells::new(launcher, usize::MAX, 1 << 20),
        }
    }

    /// Opens `argv` in the sandbox, recording what it reports.
    fn open(&self, argv: &[&str], size: PtySize) -> Result<(ShellInfo, Recorder), ActorError> {
        let options = ShellOptions {
            command: Some(argv[0].to_owned()),
            args: Some(argv[1..].iter().map(|s| (*s).to_owned()).collect()),
            // No prompt, so that every line of output is a command's or the terminal's echo.
            env: Some(BTreeMap::from([("PS1".to_owned(), String::new())])),
            cwd: None,
            cols: Some(size.cols),
            rows: Some(size.rows),
        };
        let recorder = Recorder::default();
        let (data, exit) = (recorder.clone(), recorder.clone());
        let info = self.shells.open(
            &options,
            move |chunk| data.push(Event::Data(chunk.data.0)),
            move |end| exit.push(Event::Exit(end)),
        )?;
        Ok((info, recorder))
    }

    fn sandboxes(&self) -> usize {
        sandboxes(self.root.path())
    }
}

impl Recorder {
    fn output(&self) -> String {
        let bytes: Vec<u8> = self
            .events()
            .into_iter()
            .filter_map(|event| match event {
                Event::Data(data) => Some(data),
                Event::Exit(_) => None,
            })
            .flatten()
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn exits(&self) -> Vec<ShellExit> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                Event::Exit(exit) => Some(exit),
                Event::Data(_) => None,
            })
            .collect()
    }

    /// Waits until the output has a line that is exactly `line`.
    async fn expect(&self, line: &str) {
        until(|| self.output().split("\r\n").any(|l| l == line))
            .await
            .unwrap_or_else(|()| panic!("no line {line:?} in {:?}", self.output()));
    }
}

#[tokio::test]
async fn typed_lines_come_back_with_the_terminals_echo() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    let (info, recorder) = vm.open(&["/bin/sh"], SIZE).unwrap();
    assert_eq!(info.shell_id, "sh1");
    assert_eq!(info.command, ["/bin/sh"]);
    assert_eq!(vm.shells.list(), [info]);

    vm.shells.write("sh1", b"echo hello\n").await.unwrap();
    // The terminal echoes the typed line, then the shell prints its output.
    recorder.expect("echo hello").await;
    recorder.expect("hello").await;
    vm.shells.close("sh1").await.unwrap();
}

#[tokio::test]
async fn the_exit_code_is_reported_once_after_the_last_output() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    let script = r#"read line; echo "got $line"; exit 3"#;
    let (info, recorder) = vm.open(&["/bin/sh", "-c", script], SIZE).unwrap();
    let id = info.shell_id.as_str();
    vm.shells.write(id, b"hello\n").await.unwrap();
    let exit = vm.shells.wait(id).await.unwrap();
    let expected = ShellExit {
        shell_id: id.into(),
        exit_code: Some(3),
        signal: None,
    };
    assert_eq!(exit, expected, "output: {:?}", recorder.output());
    recorder.expect("got hello").await;
    assert_eq!(
        recorder.events().last(),
        Some(&Event::Exit(expected.clone()))
    );
    assert_eq!(recorder.exits().len(), 1);
    assert!(vm.shells.list().is_empty());
    // A shell that has exited still answers `wait`, and closing it again does nothing.
    assert_eq!(vm.shells.wait(id).await.unwrap(), expected);
    vm.shells.close(id).await.unwrap();
    let gone = vm.shells.write(id, b"x").await.unwrap_err();
    assert_eq!(gone.code, code::NOT_FOUND);
}

/// The shell's job control works inside the sandbox: dash hands the terminal back to the
/// process group it started in when it exits, which must be visible in its pid namespace.
#[tokio::test]
async fn an_interactive_sh_reports_its_exit_code() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    let (info, recorder) = vm.open(&["/bin/sh"], SIZE).unwrap();
    vm.shells.write(&info.shell_id, b"exit 3\n").await.unwrap();
    let exit = vm.shells.wait(&info.shell_id).await.unwrap();
    assert_eq!(exit.exit_code, Some(3), "output: {:?}", recorder.output());
}

/// ^C goes to the terminal's foreground process group, which must be the program's alone:
/// were bubblewrap in it, the sandbox would die rather than the program see the signal.
#[tokio::test]
async fn ctrl_c_reaches_only_the_program() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    // `read` fails when the signal interrupts it, so it is retried until a line arrives.
    let script = r#"trap "echo caught" INT; echo armed; until read line; do :; done; exit 5"#;
    let (info, recorder) = vm.open(&["/bin/sh", "-c", script], SIZE).unwrap();
    recorder.expect("armed").await;
    vm.shells.write(&info.shell_id, b"\x03").await.unwrap();
    recorder.expect("^Ccaught").await;
    let alive = vm.shells.write(&info.shell_id, b"\n").await;
    alive.expect("^C ended the shell");
    let exit = vm.shells.wait(&info.shell_id).await.unwrap();
    assert_eq!(exit.exit_code, Some(5));
}

#[tokio::test]
async fn concurrent_waiters_all_get_the_exit() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    let (info, _) = vm
        .open(&["/bin/sh", "-c", "sleep 0.2; exit 7"], SIZE)
        .unwrap();
    let id = info.shell_id.as_str();
    let (a, b) = tokio::join!(vm.shells.wait(id), vm.shells.wait(id));
    assert_eq!(a.unwrap().exit_code, Some(7));
    assert_eq!(b.unwrap().exit_code, Some(7));
}

#[tokio::test]
async fn the_program_sees_the_size_and_is_told_when_it_changes() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    let (info, recorder) = vm.open(&["/bin/sh"], SIZE).unwrap();
    let id = info.shell_id.as_str();
    vm.shells.write(id, b"stty size\n").await.unwrap();
    recorder.expect("24 80").await;

    // A foreground job that reports SIGWINCH, armed before the resize.
    let job = b"sh -c 'trap \"echo got-winch\" WINCH; echo armed; sleep 10 & wait'\n";
    vm.shells.write(id, job).await.unwrap();
    recorder.expect("armed").await;
    let size = PtySize {
        cols: 100,
        rows: 40,
    };
    vm.shells.resize(id, size).unwrap();
    recorder.expect("got-winch").await;
    let listed = &vm.shells.list()[0];
    assert_eq!((listed.cols, listed.rows), (100, 40));

    vm.shells.write(id, b"stty size\n").await.unwrap();
    recorder.expect("40 100").await;
    vm.shells.close(id).await.unwrap();
}

#[tokio::test]
async fn close_ends_the_whole_shell_and_reports_its_exit() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    let (info, recorder) = vm.open(&["/bin/sh"], SIZE).unwrap();
    vm.shells
        .write(&info.shell_id, b"echo started; sleep 1000\n")
        .await
        .unwrap();
    recorder.expect("started").await;
    assert!(group_exists(info.pid));

    vm.shells.close(&info.shell_id).await.unwrap();
    let exits = recorder.exits();
    assert_eq!(exits.len(), 1);
    assert_eq!(vm.shells.wait(&info.shell_id).await.unwrap(), exits[0]);
    assert!(vm.shells.list().is_empty());
    until(|| !group_exists(info.pid))
        .await
        .expect("the shell's process group outlived close");
    assert_eq!(vm.sandboxes(), 0);
}

#[tokio::test]
async fn dropping_the_registry_kills_its_shells() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    let (info, recorder) = vm.open(&["/bin/sh"], SIZE).unwrap();
    vm.shells
        .write(&info.shell_id, b"echo started; sleep 1000\n")
        .await
        .unwrap();
    recorder.expect("started").await;
    let Vm { root, shells, .. } = vm;
    drop(shells);
    until(|| !group_exists(info.pid))
        .await
        .expect("the shell outlived its registry");
    assert_eq!(sandboxes(root.path()), 0);
    until(|| recorder.exits().len() == 1).await.unwrap();
}

#[tokio::test]
async fn unknown_ids_and_empty_sizes_are_refused() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    for id in ["sh1", "sh01", "sh", "x"] {
        let write = vm.shells.write(id, b"x").await.unwrap_err();
        assert_eq!(write.code, code::NOT_FOUND, "{id}");
        let resize = vm.shells.resize(id, SIZE).unwrap_err();
        assert_eq!(resize.code, code::NOT_FOUND, "{id}");
        assert_eq!(vm.shells.close(id).await.unwrap_err().code, code::NOT_FOUND);
        assert_eq!(vm.shells.wait(id).await.unwrap_err().code, code::NOT_FOUND);
    }
    for (cols, rows) in [(0, 24), (80, 0)] {
        let size = PtySize { cols, rows };
        let open = vm.open(&["/bin/sh"], size).unwrap_err();
        assert_eq!(open.code, code::INVALID_INPUT);
    }
    let (info, _) = vm.open(&["/bin/sh"], SIZE).unwrap();
    let size = PtySize { cols: 0, rows: 0 };
    let resize = vm.shells.resize(&info.shell_id, size).unwrap_err();
    assert_eq!(resize.code, code::INVALID_INPUT);
    vm.shells.close(&info.shell_id).await.unwrap();
}

#[tokio::test]
async fn ids_count_up_and_the_list_is_sorted() {
    let _serial = SHELLS_RUNNING.read().await;
    let vm = Vm::new();
    let mut ids = Vec::new();
    for _ in 0..11 {
        ids.push(vm.open(&["/bin/sh"], SIZE).unwrap().0.shell_id);
    }
    let listed: Vec<String> = vm.shells.list().into_iter().map(|i| i.shell_id).collect();
    assert_eq!(listed, ids);
    assert_eq!(ids[10], "sh11");
    for id in ids {
        vm.shells.close(&id).await.unwrap();
    }
}

#[tokio::test]
async fn open_close_cycles_leave_no_fds_or_processes_behind() {
    let _alone = SHELLS_RUNNING.write().await;
    let vm = Vm::new();
    let (fds_before, children_before) = (fds(), children().len());
    for cycle in 0..200 {
        // Every other shell is closed as soon as it starts, the rest once their sandbox is up.
        let (info, recorder) = vm
            .open(&["/bin/sh", "-c", "echo up; sleep 1000"], SIZE)
            .unwrap();
        if cycle % 2 == 1 {
            recorder.expect("up").await;
            assert!(children().contains(&info.pid));
        }
        vm.shells.close(&info.shell_id).await.unwrap();
    }
    assert!(vm.shells.list().is_empty());
    assert_eq!(vm.sandboxes(), 0, "a sandbox escaped close");
    // Other tests in this process may hold fds for a moment; ours must all be closed.
    let settled = until(|| fds() <= fds_before && children().len() <= children_before).await;
    assert!(
        settled.is_ok(),
        "fds {fds_before} -> {}, children {children_before} -> {}",
        fds(),
        children().len()
    );
}

#[test]
fn options_default_to_sh_on_an_80_by_24_xterm() {
    let options: ShellOptions = serde_json::from_str("{}").unwrap();
    assert_eq!(options.argv(), ["/bin/sh"]);
    assert_eq!(options.size(), SIZE);
    assert_eq!(options.launch_env()["TERM"], "xterm-256color");

    let options: ShellOptions = serde_json::from_value(serde_json::json!({
        "command": "/bin/bash",
        "args": ["-l"],
        "env": { "TERM": "vt100" },
        "cols": 120,
        "rows": 50,
    }))
    .unwrap();
    assert_eq!(options.argv(), ["/bin/bash", "-l"]);
    assert_eq!(options.launch_env()["TERM"], "vt100");
    assert_eq!(
        options.size(),
        PtySize {
            cols: 120,
            rows: 50
        }
    );
}

#[test]
fn a_runtime_shutting_down_kills_its_shells() {
    let _serial = SHELLS_RUNNING.blocking_read();
    let vm = Vm::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (_, recorder) = vm
            .open(&["/bin/sh", "-c", "echo up; sleep 1000"], SIZE)
            .unwrap();
        recorder.expect("up").await;
    });
    // The shell's task never runs again; dropping it must still end the sandbox.
    drop(runtime);
    let start = Instant::now();
    while vm.sandboxes() > 0 {
        assert!(
            start.elapsed() < DEADLINE,
            "the sandbox outlived the runtime"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
