//! Resident namespaces: a piped process enters sandbox namespaces that bubblewrap built once
//! for the VM's current view, instead of paying for a bubblewrap run of its own (which mostly
//! costs namespace and mount setup).
//!
//! **Building** (once per view): bubblewrap runs with the usual arguments and `cat` as its
//! pid 1. Once `cat` echoes a byte back, the sandbox is set up; the host opens its user, mount,
//! network and cgroup namespaces and lets it exit. The open descriptors keep those namespaces,
//! mount tree included, alive with no process in them: nothing resident to reap or leak, and
//! nothing left once the `Sandbox` drops them (the host exiting included). A process still
//! running in an older view holds its own references and carries on.
//!
//! **Entering** (every process), in the child the host forks, as a pre-exec hook:
//! 1. `setsid` and die with the host (bubblewrap's `--new-session`, `--die-with-parent`);
//! 2. join the user namespace first (a root host drops its supplementary groups before): that
//!    grants capabilities inside it, and nothing outside, which the other joins need; then the
//!    mount (its root becomes ours), network, cgroup and UTS (the sandbox's hostname) namespaces; become the namespace's
//!    root, which is the sandbox's unprivileged host user; `chdir` to the VM working directory;
//! 3. unshare new pid, mount and IPC namespaces and set `no_new_privs`;
//! 4. close every descriptor but stdio, as the exec it never makes would: that is how the
//!    spawning side learns the start succeeded;
//! 5. start the new pid namespace's init, which mounts the process's own `/proc` (covered as
//!    bubblewrap covers it), `/tmp` and `/dev/shm`, makes the shared `/dev` read-only, drops
//!    every capability (bubblewrap's `--cap-drop ALL`), hides itself, starts the program as its pid 2 and waits for
//!    it. Its exit kills whatever the program left behind, as a bubblewrap's pid 1 exit does;
//! 6. exit as the program did, re-raising the signal that killed it.
//!
//! So a process sees what a bubblewrap of its own would show, except that the user, network
//! (loopback only, unless the VM allows the network), cgroup and UTS namespaces (no process can
//! change the hostname: none has a capability), and `/dev` other
//! than `/dev/shm` (read-only), are shared by the processes of one view.
//!
//! The children of step 5 share the forked child's memory (`CLONE_VM | CLONE_VFORK`, the
//! parent suspended until its child execs or exits), so no page tables are copied; everything
//! they use is prepared before the fork and they make only system calls.

use std::ffi::{CStr, CString, c_int, c_void};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use super::cgroup::VmCgroup;
use super::{Plan, VmNetwork, enter_as, reset_signals};
use crate::runtime::ActorError;
use crate::vm::identity::VmUser;

/// The namespaces a process joins, user first: joining it grants what the others need.
const JOINED: [(&str, c_int); 5] = [
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("uts", libc::CLONE_NEWUTS),
];

/// The namespaces every process gets afresh, as a bubblewrap of its own would give it.
const UNSHARED: c_int = libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWIPC;

/// Stack of each of the two memory-sharing children; they make a few system calls only.
const STACK_BYTES: usize = 64 * 1024;

/// What `status` holds until the init has seen the program end.
const NO_STATUS: i32 = i32::MIN;

/// A view's namespaces, kept open.
#[derive(Debug)]
pub struct Namespaces {
    /// In joining order; a namespace the host already is in (the network, when allowed) is
    /// left out, as joining it would need capabilities over the host's own.
    joined: Vec<(OwnedFd, c_int)>,
    /// Whether the host is root, whose supplementary groups must not follow it in.
    host_is_root: bool,
    caps: Caps,
}

impl Namespaces {
    /// Builds a view's namespaces by running `bwrap` with `args` (its arguments for that
    /// view) as `user` (when the host is root), or `None` when bubblewrap makes no user
    /// namespace (a setuid bubblewrap): there is then nothing to join without the host's own
    /// privileges.
    pub fn build(
        bwrap: &Path,
        args: &[String],
        user: Option<VmUser>,
        net: Option<&Arc<VmNetwork>>,
    ) -> Result<Option<Self>, ActorError> {
        let failed =
            |what: &str| ActorError::internal(format!("cannot set up the sandbox: {what}"));
        let mut command = std::process::Command::new(bwrap);
        let in_net = net.cloned();
        // SAFETY: `enter_as` makes only system calls.
        unsafe {
            command.pre_exec(move || enter_as(in_net.as_deref(), user));
        }
        let mut child = command
            .args(args)
            .args(["--as-pid-1", "--json-status-fd", "2", "--", "cat"])
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(&e.to_string()))?;
        let (Some(mut stdin), Some(mut stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            unreachable!("all three streams are piped");
        };
        let mut stderr = BufReader::new(stderr);
        let built = (|| {
            // bubblewrap reports the sandbox's pid 1 first, or says why it could not start.
            let mut line = String::new();
            stderr
                .read_line(&mut line)
                .map_err(|e| failed(&e.to_string()))?;
            let pid = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|status| status["child-pid"].as_u64())
                .ok_or_else(|| {
                    let mut rest = String::new();
                    let _ = stderr.read_to_string(&mut rest);
                    failed(format!("{line}{rest}").trim())
                })?;
            // `cat` answering means the mounts are in place.
            let mut echo = [0u8];
            stdin.write_all(b"\n").map_err(|e| failed(&e.to_string()))?;
            stdout
                .read_exact(&mut echo)
                .map_err(|e| failed(&e.to_string()))?;
            // The VM's network is joined first, with the host's privileges: it belongs to the
            // host's user namespace, over which the sandbox's gives none.
            let mut joined = Vec::new();
            if let Some(net) = net {
                let fd = net.fd().try_clone().map_err(|e| failed(&e.to_string()))?;
                joined.push((fd, libc::CLONE_NEWNET));
            }
            for (name, nstype) in JOINED {
                if net.is_some() && nstype == libc::CLONE_NEWNET {
                    continue;
                }
                let theirs = std::fs::File::open(format!("/proc/{pid}/ns/{name}"))
                    .map_err(|e| failed(&format!("namespace {name}: {e}")))?;
                let ours = std::fs::metadata(format!("/proc/self/ns/{name}"))
                    .map_err(|e| failed(&format!("namespace {name}: {e}")))?;
                let meta = theirs.metadata().map_err(|e| failed(&e.to_string()))?;
                if (meta.dev(), meta.ino()) != (ours.dev(), ours.ino()) {
                    joined.push((OwnedFd::from(theirs), nstype));
                } else if nstype == libc::CLONE_NEWUSER {
                    return Ok(None);
                }
            }
            Ok(Some(Self {
                joined,
                host_is_root: user.is_some(),
                caps: Caps::none(),
            }))
        })();
        // End of input ends `cat`, and with it bubblewrap.
        drop(stdin);
        if built.is_err() {
            let _ = child.kill();
        }
        let _ = child.wait();
        built
    }

    /// A command that starts `plan` (argv, environment and VM working directory) in these
    /// namespaces, in a session of its own, killed if dropped.
    pub fn command(self: &Arc<Self>, plan: &Plan) -> tokio::process::Command {
        let mut entry = Entry::new(self.clone(), plan);
        let mut cmd = tokio::process::Command::new(&plan.program);
        cmd.args(&plan.args).env_clear().kill_on_drop(true);
        // SAFETY: `enter` makes only async-signal-safe system calls on memory prepared
        // before the fork (see `Entry`).
        unsafe {
            cmd.pre_exec(move || entry.enter());
        }
        cmd
    }
}

/// No capabilities, as bubblewrap's `--cap-drop ALL` leaves its process: with any, a process
/// that is root in the sandbox could remount the read-only system directories writable.
#[derive(Debug, Clone, Copy)]
struct Caps {
    last: u32,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAP_VERSION_3: u32 = 0x2008_0522;

impl Caps {
    fn none() -> Self {
        let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40);
        Self { last }
    }

    /// Empties the bounding set and every capability set. Only system calls.
    fn apply(&self) -> bool {
        for cap in 0..=self.last {
            // SAFETY: prctl with integer arguments.
            if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
                return false;
            }
        }
        let mut header = CapHeader {
            version: CAP_VERSION_3,
            pid: 0,
        };
        let data = [CapData::default(); 2];
        // SAFETY: capset reads two `CapData` for version 3; prctl takes integers.
        unsafe {
            libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) == 0
                && libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL,
                    0,
                    0,
                    0,
                ) == 0
        }
    }
}

/// Everything the forked child and its two memory-sharing children use, prepared before the
/// fork so that they only make system calls.
struct Entry {
    ns: Arc<Namespaces>,
    /// The VM's cgroup, joined first.
    cgroup: Option<Arc<VmCgroup>>,
    host: libc::pid_t,
    cwd: CString,
    /// Where to look for the program, in order, as `execvp` would over the plan's `PATH`.
    candidates: Vec<CString>,
    /// The argv and environment strings that `argv_ptrs` and `env_ptrs` point into.
    _strings: [Vec<CString>; 2],
    argv_ptrs: Vec<*const libc::c_char>,
    env_ptrs: Vec<*const libc::c_char>,
    not_found: Vec<u8>,
    not_executable: Vec<u8>,
    bad_cwd: Vec<u8>,
    stacks: Box<[u8]>,
    /// The program's wait status, written by the init, read once the init has exited.
    status: AtomicI32,
}

// SAFETY: the raw pointers point into `_strings`, which `Entry` owns and never changes.
unsafe impl Send for Entry {}
// SAFETY: as above; only the forked child, single-threaded, uses an `Entry`.
unsafe impl Sync for Entry {}

fn cstring(s: impl Into<Vec<u8>>) -> CString {
    let mut bytes = s.into();
    bytes.retain(|&b| b != 0);
    CString::new(bytes).expect("NULs removed")
}

impl Entry {
    fn new(ns: Arc<Namespaces>, plan: &Plan) -> Self {
        let program = plan.program.as_bytes();
        let candidates = if program.contains(&b'/') {
            vec![cstring(program)]
        } else {
            let path = plan.env.get("PATH").map_or("", String::as_str);
            path.split(':')
                .map(|dir| match dir {
                    "" => cstring(program),
                    dir => cstring(format!("{}/{}", dir.trim_end_matches('/'), plan.program)),
                })
                .collect()
        };
        let argv: Vec<CString> = std::iter::once(&plan.program)
            .chain(&plan.args)
            .map(|arg| cstring(arg.as_bytes()))
            .collect();
        let env: Vec<CString> = plan
            .env
            .iter()
            .map(|(key, value)| cstring(format!("{key}={value}")))
            .collect();
        let pointers = |strings: &[CString]| {
            strings
                .iter()
                .map(|s| s.as_ptr())
                .chain([std::ptr::null()])
                .collect()
        };
        Self {
            host: std::process::id() as libc::pid_t,
            cwd: cstring(plan.cwd.as_os_str().as_bytes()),
            candidates,
            argv_ptrs: pointers(&argv),
            env_ptrs: pointers(&env),
            _strings: [argv, env],
            not_found: format!("{}: not found\n", plan.program).into_bytes(),
            not_executable: format!("{}: cannot execute\n", plan.program).into_bytes(),
            bad_cwd: format!(
                "cannot change to the working directory {}\n",
                plan.cwd.display()
            )
            .into_bytes(),
            stacks: vec![0; 2 * STACK_BYTES].into_boxed_slice(),
            status: AtomicI32::new(NO_STATUS),
            cgroup: plan.cgroup.clone(),
            ns,
        }
    }

    /// Steps 1–4 and 6 of the module doc, in the forked child. Errors before step 4 reach
    /// the spawning side; after it, the child exits.
    fn enter(&mut self) -> std::io::Result<()> {
        let check = |result: c_int| {
            if result == -1 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        // SAFETY (whole block): system calls on descriptors and strings owned by `self`,
        // in the single-threaded child of a fork.
        unsafe {
            check(libc::setsid())?;
            check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
            if libc::getppid() != self.host {
                libc::_exit(1);
            }
            if let Some(cgroup) = &self.cgroup {
                cgroup.join()?;
            }
            reset_signals();
            if self.ns.host_is_root {
                check(libc::setgroups(0, std::ptr::null()))?;
            }
            for (fd, nstype) in &self.ns.joined {
                check(libc::setns(fd.as_raw_fd(), *nstype))?;
            }
            // The namespace's root: the sandbox's host user, whoever the host is.
            check(libc::setresgid(0, 0, 0))?;
            check(libc::setresuid(0, 0, 0))?;
            // A change of credentials clears the parent-death signal.
            check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
            if libc::getppid() != self.host {
                libc::_exit(1);
            }
            if libc::chdir(self.cwd.as_ptr()) != 0 {
                // As bubblewrap does: the process runs, saying why it could not.
                fail(&self.bad_cwd, 1);
            }
            check(libc::unshare(UNSHARED))?;
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
            check(libc::close_range(3, libc::c_uint::MAX, 0))?;
            let init_pid = libc::clone(
                init,
                stack_top(self.stacks.as_mut_ptr().add(STACK_BYTES)),
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                std::ptr::from_mut(self).cast(),
            );
            if init_pid == -1 {
                fail(b"agentos: cannot start the sandbox's init\n", CANNOT_RUN);
            }
            let ended = wait_for(init_pid);
            let status = match self.status.load(Ordering::SeqCst) {
                NO_STATUS => ended,
                program => program,
            };
            if libc::WIFSIGNALED(status) {
                die_of(libc::WTERMSIG(status));
            }
            libc::_exit(libc::WEXITSTATUS(status));
        }
    }
}

/// The top of a stack that ends at `end`, aligned as every ABI wants.
fn stack_top(end: *mut u8) -> *mut c_void {
    (end as usize & !15) as *mut c_void
}

/// Waits for `pid`, returning its wait status.
unsafe fn wait_for(pid: libc::pid_t) -> c_int {
    let mut status = 0;
    // SAFETY: waitpid writes the status.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1 {
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return CANNOT_RUN << 8;
        }
    }
    status
}

/// Ends this process by `signal`, so that the host sees how the program ended.
unsafe fn die_of(signal: c_int) -> ! {
    // SAFETY: system calls on local values.
    unsafe {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), signal);
        libc::_exit(128 + signal)
    }
}

/// Writes `message` to stderr and exits with `code`.
fn fail(message: &[u8], code: c_int) -> ! {
    // SAFETY: write and _exit.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(code)
    }
}

/// How a shell exits when it cannot run a program.
const CANNOT_RUN: c_int = 126;

/// `bubblewrap --proc` covers these with read-only binds when they are writable; the first,
/// `/proc/sys`, is covered always, as the sandbox's own arguments do.
const PROC_COVERED: [&CStr; 4] = [
    c"/proc/sys",
    c"/proc/sysrq-trigger",
    c"/proc/irq",
    c"/proc/bus",
];

/// The new pid namespace's init (step 5): runs on its own stack in the forked child's memory.
extern "C" fn init(entry: *mut c_void) -> c_int {
    // SAFETY: `entry` is the `Entry` of the forked child, suspended until this init exits.
    let entry = unsafe { &*entry.cast::<Entry>() };
    let mount =
        |source: &CStr, target: &CStr, fstype: Option<&CStr>, flags, data: Option<&CStr>| {
            // SAFETY: mount with NUL-terminated strings or nulls.
            unsafe {
                libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    fstype.map_or(std::ptr::null(), CStr::as_ptr),
                    flags,
                    data.map_or(std::ptr::null(), |d| d.as_ptr().cast()),
                ) == 0
            }
        };
    let hidden = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let tmpfs = libc::MS_NOSUID | libc::MS_NODEV;
    let detach = |target: &CStr| {
        // SAFETY: umount2 on a NUL-terminated path.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) == 0 }
    };
    // SAFETY: prctl with integers.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    // This namespace's /proc replaces the view's, rather than covering it: mounted aside
    // first, as the kernel only allows a new proc where one is already fully visible.
    // `hidepid=ptraceable`: the program cannot see this init (see below), even in group 0.
    if !mount(
        c"proc",
        c"/tmp",
        Some(c"proc"),
        hidden,
        Some(c"hidepid=ptraceable"),
    ) || !detach(c"/proc")
        || !mount(c"/tmp", c"/proc", None, libc::MS_MOVE, None)
    {
        fail(b"agentos: cannot mount /proc\n", CANNOT_RUN);
    }
    for dir in PROC_COVERED {
        // SAFETY: access on a NUL-terminated path.
        let always = dir == PROC_COVERED[0];
        if !always && unsafe { libc::access(dir.as_ptr(), libc::W_OK) } != 0 {
            continue;
        }
        // The always-covered one with the flags of bubblewrap's `--ro-bind` of it.
        let flags = if always { tmpfs } else { hidden };
        let read_only = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | flags;
        if !mount(dir, dir, None, libc::MS_BIND | libc::MS_REC, None)
            || !mount(c"", dir, None, read_only, None)
        {
            fail(b"agentos: cannot cover /proc\n", CANNOT_RUN);
        }
    }
    let read_only = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | tmpfs;
    if !detach(c"/tmp")
        || !mount(c"tmpfs", c"/tmp", Some(c"tmpfs"), tmpfs, Some(c"mode=0755"))
        || !mount(c"", c"/dev", None, read_only, None)
        || !mount(
            c"tmpfs",
            c"/dev/shm",
            Some(c"tmpfs"),
            tmpfs,
            Some(c"mode=0755"),
        )
    {
        fail(b"agentos: cannot mount /tmp or /dev/shm\n", CANNOT_RUN);
    }
    // This init is a clone of the host process, memory, command line and environment
    // included. Not dumpable (set after the last change of credentials, which may reset it),
    // only a ptracer with capabilities over the host's user namespace may read it, and so the
    // program may not even see it in /proc.
    // SAFETY: prctl with integers.
    if !entry.ns.caps.apply() || unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        fail(b"agentos: cannot set capabilities\n", CANNOT_RUN);
    }
    // SAFETY: the second stack is unused by anyone else; this init is suspended until the
    // program execs or exits.
    let program = unsafe {
        libc::clone(
            program,
            stack_top(entry.stacks.as_ptr().add(2 * STACK_BYTES).cast_mut()),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::from_ref(entry).cast_mut().cast(),
        )
    };
    if program == -1 {
        fail(b"agentos: cannot start the program\n", CANNOT_RUN);
    }
    // Reap everything orphaned into this namespace until the program itself ends.
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes the status.
        match unsafe { libc::waitpid(-1, &mut status, 0) } {
            pid if pid == program => {
                entry.status.store(status, Ordering::SeqCst);
                return 0;
            }
            -1 if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) => return 0,
            _ => {}
        }
    }
}

/// The program (step 5): tries each candidate path as `execvp` would.
extern "C" fn program(entry: *mut c_void) -> c_int {
    // SAFETY: `entry` is the `Entry` of the forked child, whose init is suspended until this
    // execs or exits.
    let entry = unsafe { &*entry.cast::<Entry>() };
    // A session of its own, as bubblewrap's `--new-session` gives: signals meant for the
    // program's process group reach it and its children, not the init.
    // SAFETY: setsid takes no arguments.
    if unsafe { libc::setsid() } == -1 {
        fail(b"agentos: cannot start a session\n", CANNOT_RUN);
    }
    let mut denied = false;
    for candidate in &entry.candidates {
        // SAFETY: execve with NUL-terminated strings and null-terminated arrays of them.
        unsafe {
            libc::execve(
                candidate.as_ptr(),
                entry.argv_ptrs.as_ptr(),
                entry.env_ptrs.as_ptr(),
            )
        };
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EACCES) => denied = true,
            Some(libc::ENOENT | libc::ENOTDIR) => {}
            _ => fail(&entry.not_executable, CANNOT_RUN),
        }
    }
    if denied {
        fail(&entry.not_executable, CANNOT_RUN);
    }
    fail(&entry.not_found, 127)
}
