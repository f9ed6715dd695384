use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;
use crate::error::code;
use crate::vm::fs::FileContent;
use crate::vm::sandbox::SandboxMode;
use crate::vm::test_support::{
    CHILDREN_RUNNING, DEADLINE, children, fds, group_exists, launcher, sandboxes, until,
};

type Recorder = crate::vm::test_support::Recorder<Event>;

/// What a process reported, in order.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Output(ProcessStream, Vec<u8>),
    Exit(ProcessExit),
}

struct Vm {
    root: tempfile::TempDir,
    processes: Processes,
}

impl Vm {
    fn new() -> Self {
        Self::with(SandboxMode::Bubblewrap)
    }

    fn with(mode: SandboxMode) -> Self {
        let root = crate::vm::test_support::vm_dir();
        let launcher = launcher(mode, root.path());
        Self {
            root,
            processes: Processes::new(launcher, usize::MAX, 1 << 20),
        }
    }

    /// Spawns `argv` in the sandbox as the VM's caller would, recording what it reports.
    fn spawn(
        &self,
        argv: &[&str],
        options: SpawnOptions,
    ) -> Result<(ProcessInfo, Recorder), ActorError> {
        let argv: Vec<String> = argv.iter().map(|s| (*s).to_owned()).collect();
        let recorder = Recorder::default();
        let (output, exit) = (recorder.clone(), recorder.clone());
        let info = self.processes.spawn(
            argv,
            &options,
            move |chunk| output.push(Event::Output(chunk.stream, chunk.data.0)),
            move |end| exit.push(Event::Exit(end)),
        )?;
        Ok((info, recorder))
    }

    fn run(&self, argv: &[&str]) -> (ProcessInfo, Recorder) {
        self.spawn(argv, SpawnOptions::default()).unwrap()
    }

    /// Waits for `pid` to exit, failing the test rather than hanging it.
    async fn wait(&self, pid: u32) -> ProcessExit {
        let waited = tokio::time::timeout(DEADLINE, self.processes.wait(pid)).await;
        waited.expect("the process did not exit").unwrap()
    }

    /// Stops `pid`, failing the test rather than hanging it.
    async fn stop(&self, pid: u32) -> ProcessExit {
        let stopped = tokio::time::timeout(DEADLINE, self.processes.stop(pid)).await;
        stopped.expect("the process did not stop").unwrap()
    }

    fn sandboxes(&self) -> usize {
        sandboxes(self.root.path())
    }

    /// Waits until no sandbox of this VM runs. The sandbox's init may outlive bubblewrap by a
    /// moment when bubblewrap is killed first (it then dies of its parent's death).
    async fn no_sandbox_left(&self) {
        until(|| self.sandboxes() == 0)
            .await
            .unwrap_or_else(|()| panic!("{} sandbox processes outlived theirs", self.sandboxes()));
    }
}

impl Recorder {
    fn stream(&self, stream: ProcessStream) -> String {
        let bytes: Vec<u8> = (self.events().into_iter())
            .filter_map(|event| match event {
                Event::Output(s, data) if s == stream => Some(data),
                _ => None,
            })
            .flatten()
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn stdout(&self) -> String {
        self.stream(ProcessStream::Stdout)
    }

    fn stderr(&self) -> String {
        self.stream(ProcessStream::Stderr)
    }

    fn exits(&self) -> Vec<ProcessExit> {
        (self.events().into_iter())
            .filter_map(|event| match event {
                Event::Exit(exit) => Some(exit),
                Event::Output(..) => None,
            })
            .collect()
    }

    /// Waits until stdout has a line that is exactly `line` (a terminal's `\r\n` included).
    async fn expect(&self, line: &str) {
        until(|| {
            self.stdout()
                .lines()
                .any(|l| l.trim_end_matches('\r') == line)
        })
        .await
        .unwrap_or_else(|()| panic!("no line {line:?} in {:?}", self.stdout()));
    }
}

fn streaming() -> SpawnOptions {
    SpawnOptions {
        stream_stdin: Some(true),
        ..SpawnOptions::default()
    }
}

fn exit(pid: u32, exit_code: Option<i32>, signal: Option<&str>) -> ProcessExit {
    ProcessExit {
        pid,
        exit_code,
        signal: signal.map(str::to_owned),
        timed_out: false,
    }
}

#[tokio::test]
async fn args_env_and_cwd_reach_the_program_and_its_exit_comes_last() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    std::fs::create_dir(vm.root.path().join("work")).unwrap();
    let script = r#"echo "$0 $1 $GREETING"; pwd; echo oops >&2; exit 3"#;
    let options = SpawnOptions {
        env: Some(BTreeMap::from([("GREETING".into(), "hi there".into())])),
        cwd: Some("/work".into()),
        ..SpawnOptions::default()
    };
    let (info, recorder) = vm
        .spawn(&["sh", "-c", script, "first", "second"], options)
        .unwrap();
    assert_eq!(info.pid, 1);
    assert_eq!(info.command, ["sh", "-c", script, "first", "second"]);
    assert!(info.running && !info.pty);
    let ended = vm.wait(1).await;
    assert_eq!(ended, exit(1, Some(3), None));
    assert_eq!(recorder.stdout(), "first second hi there\n/work\n");
    assert_eq!(recorder.stderr(), "oops\n");
    assert_eq!(recorder.events().last(), Some(&Event::Exit(ended)));
    assert_eq!(recorder.exits().len(), 1);
}

#[tokio::test]
async fn streamed_stdin_is_echoed_by_cat_until_it_is_closed() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let options = SpawnOptions {
        stdin: Some(FileContent::Text("zero\n".into())),
        ..streaming()
    };
    let (info, recorder) = vm.spawn(&["cat"], options).unwrap();
    recorder.expect("zero").await;
    vm.processes.write_stdin(info.pid, b"one\n").await.unwrap();
    recorder.expect("one").await;
    vm.processes.write_stdin(info.pid, b"two\n").await.unwrap();
    recorder.expect("two").await;
    assert!(vm.processes.get(info.pid).unwrap().running);

    vm.processes.close_stdin(info.pid).await.unwrap();
    let ended = vm.wait(info.pid).await;
    assert_eq!(ended, exit(info.pid, Some(0), None));
    assert_eq!(recorder.stdout(), "zero\none\ntwo\n");
}

#[tokio::test]
async fn writing_to_a_closed_stdin_is_a_closed_error() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let script = "cat; echo eof; sleep 30";
    let (info, recorder) = vm.spawn(&["sh", "-c", script], streaming()).unwrap();
    vm.processes.close_stdin(info.pid).await.unwrap();
    recorder.expect("eof").await;
    let err = vm.processes.write_stdin(info.pid, b"x").await.unwrap_err();
    assert_eq!(err.code, code::CLOSED, "{err}");
    assert!(err.message.contains("was closed"), "{err}");
    // Closing it again does nothing.
    vm.processes.close_stdin(info.pid).await.unwrap();

    vm.processes.kill(info.pid, Some("SIGKILL")).unwrap();
    vm.wait(info.pid).await;
    let err = vm.processes.write_stdin(info.pid, b"x").await.unwrap_err();
    assert_eq!(err.code, code::CLOSED);
    assert!(err.message.contains("has exited"), "{err}");
    vm.processes.close_stdin(info.pid).await.unwrap();
}

#[tokio::test]
async fn the_stdin_option_without_streaming_is_all_the_input() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let options = SpawnOptions {
        stdin: Some(FileContent::Text("hello\n".into())),
        ..SpawnOptions::default()
    };
    let (info, recorder) = vm
        .spawn(&["sh", "-c", "cat; echo done; sleep 30"], options)
        .unwrap();
    recorder.expect("done").await;
    assert_eq!(recorder.stdout(), "hello\ndone\n");
    let err = vm.processes.write_stdin(info.pid, b"x").await.unwrap_err();
    assert_eq!(err.code, code::CLOSED);
    assert!(err.message.contains("streamStdin"), "{err}");
    vm.processes.kill(info.pid, Some("KILL")).unwrap();

    // Without any input, a reader sees its end at once.
    let (info, recorder) = vm.run(&["cat"]);
    let ended = vm.wait(info.pid).await;
    assert_eq!(ended.exit_code, Some(0));
    assert_eq!(recorder.stdout(), "");
}

#[tokio::test]
async fn kill_reports_the_signal_it_sent() {
    let _serial = CHILDREN_RUNNING.read().await;
    for mode in [SandboxMode::Bubblewrap, SandboxMode::None] {
        let vm = Vm::with(mode);
        for (signal, name) in [
            (None, "SIGTERM"),
            (Some("SIGKILL"), "SIGKILL"),
            (Some("int"), "SIGINT"),
            (Some("1"), "SIGHUP"),
        ] {
            let (info, recorder) = vm.run(&["sh", "-c", "echo up; exec sleep 30"]);
            recorder.expect("up").await;
            vm.processes.kill(info.pid, signal).unwrap();
            let ended = vm.wait(info.pid).await;
            assert_eq!(
                ended,
                exit(info.pid, None, Some(name)),
                "{mode:?} {signal:?}"
            );
            let listed = vm.processes.get(info.pid).unwrap();
            assert_eq!(listed.signal.as_deref(), Some(name));
            assert!(!listed.running);
        }
        // A process killed while its sandbox is still starting ends the same way.
        let (info, _) = vm.run(&["sleep", "30"]);
        vm.processes.kill(info.pid, None).unwrap();
        let ended = vm.wait(info.pid).await;
        assert_eq!(ended.signal.as_deref(), Some("SIGTERM"), "{mode:?}");
        // Killing a process that has exited does nothing.
        vm.processes.kill(info.pid, None).unwrap();
        vm.no_sandbox_left().await;
    }
}

/// A sandbox killed at any point of its start leaves nothing behind, and the program, if it
/// started, is reported as ended by the signal sent.
#[tokio::test]
async fn signals_during_sandbox_startup_leave_no_sandbox() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    for attempt in 0..60u64 {
        let (info, _) = vm.run(&["sleep", "30"]);
        tokio::time::sleep(Duration::from_micros(attempt * 100)).await;
        let signal = if attempt % 2 == 0 { "TERM" } else { "HUP" };
        vm.processes.kill(info.pid, Some(signal)).unwrap();
        let ended = vm.wait(info.pid).await;
        let expected = format!("SIG{signal}");
        assert_eq!(
            ended.signal.as_deref(),
            Some(expected.as_str()),
            "{attempt}"
        );
    }
    vm.no_sandbox_left().await;
}

/// The program itself gets the signal, not the sandbox around it.
#[tokio::test]
async fn a_program_can_handle_the_signal() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let script = r#"trap 'echo bye; exit 7' TERM; echo up; while :; do sleep 0.05; done"#;
    let (info, recorder) = vm.run(&["sh", "-c", script]);
    recorder.expect("up").await;
    vm.processes.kill(info.pid, Some("TERM")).unwrap();
    let ended = vm.wait(info.pid).await;
    assert_eq!(ended, exit(info.pid, Some(7), None));
    recorder.expect("bye").await;
}

#[tokio::test]
async fn unknown_signals_are_refused_with_the_valid_names() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let (info, recorder) = vm.run(&["sh", "-c", "echo up; exec sleep 30"]);
    recorder.expect("up").await;
    for bad in ["SIGNOPE", "0", "99", ""] {
        let err = vm.processes.kill(info.pid, Some(bad)).unwrap_err();
        assert_eq!(err.code, code::INVALID_INPUT, "{bad}");
        assert!(err.message.contains("SIGTERM"), "{err}");
    }
    assert!(vm.processes.get(info.pid).unwrap().running);
    vm.processes.kill(info.pid, Some("SIGKILL")).unwrap();
}

#[tokio::test]
async fn stop_asks_first_and_kills_after_the_grace_period() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let polite = r#"trap 'echo cleaned; exit 0' TERM; echo up; while :; do sleep 0.05; done"#;
    let (info, recorder) = vm.run(&["sh", "-c", polite]);
    recorder.expect("up").await;
    let start = Instant::now();
    let ended = vm.stop(info.pid).await;
    assert_eq!(ended, exit(info.pid, Some(0), None));
    assert!(start.elapsed() < supervise::GRACE);
    recorder.expect("cleaned").await;
    assert_eq!(recorder.exits(), std::slice::from_ref(&ended));
    // Stopping it again answers at once.
    assert_eq!(vm.stop(info.pid).await, ended);

    let stubborn = r#"trap '' TERM; echo up; while :; do sleep 0.05; done"#;
    let (info, recorder) = vm.run(&["sh", "-c", stubborn]);
    recorder.expect("up").await;
    let start = Instant::now();
    let ended = vm.stop(info.pid).await;
    assert_eq!(ended, exit(info.pid, None, Some("SIGKILL")));
    assert!(start.elapsed() >= supervise::GRACE);
    vm.no_sandbox_left().await;
}

#[tokio::test]
async fn a_timeout_kills_the_whole_tree() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    // The grandchild `sleep` holds stdout open.
    let options = SpawnOptions {
        timeout: Some(300),
        ..SpawnOptions::default()
    };
    let script = r#"sh -c 'echo started; sleep 30' & wait"#;
    let (info, recorder) = vm.spawn(&["sh", "-c", script], options).unwrap();
    let start = Instant::now();
    let ended = vm.wait(info.pid).await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let expected = ProcessExit {
        timed_out: true,
        ..exit(info.pid, None, Some("SIGKILL"))
    };
    assert_eq!(ended, expected);
    assert_eq!(recorder.stdout(), "started\n");
    until(|| !group_exists(info.host_pid)).await.unwrap();
    vm.no_sandbox_left().await;
}

#[tokio::test]
async fn concurrent_waiters_and_later_ones_all_get_the_exit() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let (info, _) = vm.run(&["sh", "-c", "sleep 0.3; exit 7"]);
    assert!(vm.processes.get(info.pid).unwrap().running);
    let (a, b) = tokio::join!(vm.wait(info.pid), vm.wait(info.pid));
    let expected = exit(info.pid, Some(7), None);
    assert_eq!((a, b), (expected.clone(), expected.clone()));
    assert_eq!(vm.wait(info.pid).await, expected);
}

#[tokio::test]
async fn list_and_get_show_running_and_exited_processes_by_pid() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let (first, _) = vm.run(&["true"]);
    let (second, recorder) = vm.run(&["sh", "-c", "echo up; exec sleep 30"]);
    assert_eq!((first.pid, second.pid), (1, 2));
    vm.wait(1).await;
    recorder.expect("up").await;

    let listed = vm.processes.list();
    assert_eq!(listed.len(), 2);
    let expected_first = ProcessInfo {
        running: false,
        exit_code: Some(0),
        ..first.clone()
    };
    assert_eq!(listed, [expected_first.clone(), second.clone()]);
    assert_eq!(vm.processes.get(1).unwrap(), expected_first);
    assert_eq!(vm.processes.get(2).unwrap(), second);
    assert!(second.host_pid > 0 && second.host_pid != first.host_pid);
    vm.processes.kill(2, Some("KILL")).unwrap();
}

#[tokio::test]
async fn all_and_tree_show_the_program_and_its_descendants() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    assert!(vm.processes.tree().is_empty());
    let script = "sleep 30 & sleep 30";
    let (info, _) = vm.run(&["sh", "-c", script]);
    let (other, recorder) = vm.run(&["sh", "-c", "echo up; exec sleep 30"]);
    recorder.expect("up").await;
    let sleeps = |node: &ProcessNode| {
        (node.children.iter())
            .filter(|child| child.process.command == ["sleep", "30"])
            .count()
    };
    until(|| {
        vm.processes
            .tree()
            .first()
            .is_some_and(|root| sleeps(root) == 2)
    })
    .await
    .unwrap_or_else(|()| panic!("no two sleeps in {:#?}", vm.processes.tree()));

    let tree = vm.processes.tree();
    assert_eq!(tree.len(), 2, "{tree:#?}");
    let root = &tree[0];
    assert_eq!(root.process.pid, info.pid);
    assert_eq!(root.process.command, ["sh", "-c", script]);
    assert_eq!(root.process.name, "sh");
    for child in &root.children {
        assert_eq!(child.process.pid, info.pid);
        assert_eq!(child.process.parent_host_pid, root.process.host_pid);
        assert_eq!(child.process.name, "sleep");
        assert!(child.children.is_empty());
    }
    assert_eq!(tree[1].process.pid, other.pid);

    let all = vm.processes.all();
    assert_eq!(all.len(), 4, "{all:#?}");
    assert_eq!(all[0], root.process);
    assert!(all.iter().all(|p| p.name != "bwrap"), "{all:#?}");
    assert!(all.iter().all(|p| p.state != OsProcessState::Zombie));
    assert_eq!(all[3].pid, other.pid);

    vm.processes.kill(info.pid, Some("KILL")).unwrap();
    vm.wait(info.pid).await;
    let tree = vm.processes.tree();
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0].process.pid, other.pid);
    vm.processes.kill(other.pid, Some("KILL")).unwrap();
}

#[tokio::test]
async fn a_pty_process_runs_on_a_terminal_of_the_given_size() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let options = SpawnOptions {
        pty: Some(PtyOptions {
            cols: Some(100),
            rows: Some(40),
        }),
        ..SpawnOptions::default()
    };
    let script = r#"stty size; test -t 0 && test -t 1 && echo "tty $TERM"; echo oops >&2"#;
    let (info, recorder) = vm.spawn(&["sh", "-c", script], options).unwrap();
    assert!(info.pty);
    let ended = vm.wait(info.pid).await;
    assert_eq!(
        ended,
        exit(info.pid, Some(0), None),
        "{:?}",
        recorder.stdout()
    );
    recorder.expect("40 100").await;
    recorder.expect("tty xterm-256color").await;
    recorder.expect("oops").await;
    assert_eq!(recorder.stderr(), "");
}

#[tokio::test]
async fn a_pty_process_reads_typed_input_resizes_and_ends_on_eof() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let options = SpawnOptions {
        pty: Some(PtyOptions::default()),
        ..SpawnOptions::default()
    };
    let script = r#"stty size; while read line; do echo "got $line"; stty size; done; echo end"#;
    let (info, recorder) = vm.spawn(&["sh", "-c", script], options).unwrap();
    recorder.expect("24 80").await;
    vm.processes.write_stdin(info.pid, b"one\n").await.unwrap();
    recorder.expect("got one").await;
    let size = PtySize {
        cols: 120,
        rows: 50,
    };
    vm.processes.resize(info.pid, size).unwrap();
    vm.processes.write_stdin(info.pid, b"two\n").await.unwrap();
    recorder.expect("50 120").await;
    vm.processes.close_stdin(info.pid).await.unwrap();
    let ended = vm.wait(info.pid).await;
    assert_eq!(ended.exit_code, Some(0), "{:?}", recorder.stdout());
    recorder.expect("end").await;

    // A piped process has no terminal to resize.
    let (piped, _) = vm.run(&["sleep", "30"]);
    let err = vm.processes.resize(piped.pid, size).unwrap_err();
    assert_eq!(err.code, code::INVALID_INPUT);
    vm.processes.kill(piped.pid, Some("KILL")).unwrap();
}

#[tokio::test]
async fn unknown_pids_are_not_found() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    for pid in [0, 1, 42] {
        let not_found = |err: ActorError| assert_eq!(err.code, code::NOT_FOUND, "{pid}: {err}");
        not_found(vm.processes.get(pid).unwrap_err());
        not_found(vm.processes.wait(pid).await.unwrap_err());
        not_found(vm.processes.stop(pid).await.unwrap_err());
        not_found(vm.processes.kill(pid, None).unwrap_err());
        not_found(vm.processes.write_stdin(pid, b"x").await.unwrap_err());
        not_found(vm.processes.close_stdin(pid).await.unwrap_err());
        let size = PtySize { cols: 80, rows: 24 };
        not_found(vm.processes.resize(pid, size).unwrap_err());
    }
    assert!(vm.processes.list().is_empty());
}

#[tokio::test]
async fn dropping_the_table_kills_its_processes() {
    let _serial = CHILDREN_RUNNING.read().await;
    let vm = Vm::new();
    let (info, recorder) = vm.run(&["sh", "-c", "echo up; sleep 30 & sleep 30"]);
    recorder.expect("up").await;
    assert!(group_exists(info.host_pid));
    let Vm {
        root, processes, ..
    } = vm;
    drop(processes);
    until(|| !group_exists(info.host_pid))
        .await
        .expect("the process outlived its table");
    until(|| sandboxes(root.path()) == 0).await.unwrap();
    until(|| recorder.exits().len() == 1).await.unwrap();
}

#[test]
fn signals_are_named_with_or_without_sig_or_by_number() {
    for (name, signal) in [
        ("SIGTERM", Signal::SIGTERM),
        ("TERM", Signal::SIGTERM),
        ("sigkill", Signal::SIGKILL),
        ("int", Signal::SIGINT),
        ("9", Signal::SIGKILL),
        (" SIGUSR1 ", Signal::SIGUSR1),
    ] {
        assert_eq!(parse_signal(name).unwrap(), signal, "{name}");
    }
    let err = parse_signal("SIGFOO").unwrap_err();
    assert_eq!(err.code, code::INVALID_INPUT);
    assert!(err.message.contains("SIGKILL"));
    assert!(err.metadata.unwrap()["valid"].as_array().unwrap().len() > 20);
}

#[test]
fn options_decode_from_camel_case() {
    let options: SpawnOptions = serde_json::from_value(serde_json::json!({
        "streamStdin": true,
        "timeout": 5,
        "pty": { "cols": 120 },
        "env": { "TERM": "vt100" },
    }))
    .unwrap();
    assert_eq!(options.stream_stdin, Some(true));
    assert_eq!(options.timeout, Some(5));
    let size = options.pty.unwrap().size();
    assert_eq!((size.cols, size.rows), (120, 24));
    assert_eq!(options.launch_env()["TERM"], "vt100");
    let output = serde_json::to_value(ProcessStream::Stderr).unwrap();
    assert_eq!(output, "stderr");
    let plain = SpawnOptions::default().launch_env();
    assert!(!plain.contains_key("TERM"));
}

#[tokio::test]
async fn spawn_wait_cycles_leave_no_fds_or_processes_behind() {
    let _alone = CHILDREN_RUNNING.write().await;
    let vm = Vm::new();
    // Warm up: the runtime's SIGCHLD handling exists from here on.
    let (info, _) = vm.run(&["true"]);
    vm.wait(info.pid).await;
    let (fds_before, children_before) = (fds(), children().len());
    for cycle in 0..200 {
        match cycle % 4 {
            // Runs to its end.
            0 => {
                let (info, recorder) = vm.run(&["sh", "-c", "echo up; echo err >&2"]);
                let ended = vm.wait(info.pid).await;
                assert_eq!(ended.exit_code, Some(0));
                assert_eq!(recorder.stdout(), "up\n");
            }
            // Fed, then its input closed.
            1 => {
                let (info, recorder) = vm.spawn(&["cat"], streaming()).unwrap();
                vm.processes.write_stdin(info.pid, b"line\n").await.unwrap();
                vm.processes.close_stdin(info.pid).await.unwrap();
                vm.wait(info.pid).await;
                assert_eq!(recorder.stdout(), "line\n");
            }
            // Killed with a background child.
            2 => {
                let (info, _) = vm.run(&["sh", "-c", "sleep 1000 & sleep 1000"]);
                vm.processes.kill(info.pid, Some("KILL")).unwrap();
                vm.wait(info.pid).await;
            }
            // On a terminal, stopped.
            _ => {
                let options = SpawnOptions {
                    pty: Some(PtyOptions::default()),
                    ..SpawnOptions::default()
                };
                let (info, _) = vm.spawn(&["sleep", "1000"], options).unwrap();
                vm.stop(info.pid).await;
            }
        }
    }
    assert_eq!(vm.processes.list().len(), 201);
    assert!(vm.processes.tree().is_empty());
    vm.no_sandbox_left().await;
    let settled = until(|| fds() <= fds_before && children().len() <= children_before).await;
    assert!(
        settled.is_ok(),
        "fds {fds_before} -> {}, children {children_before} -> {}",
        fds(),
        children().len()
    );
}
