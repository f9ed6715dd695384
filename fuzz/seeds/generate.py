#!/usr/bin/env python3
"""Writes the committed seed corpus (fuzz/seeds/<target>/*). Run from anywhere:
python3 fuzz/seeds/generate.py. Each seed's first byte is the target's selector (see the
target's doc comment); the fuzzer grows its working corpus in fuzz/corpus/ (not committed)."""

import base64, hashlib, io, json, os, struct, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))

# The order of `actions!` in fuzz/src/lib.rs (positional_args' selector >> 1 indexes it).
ACTIONS = """mountFs unmountFs listMounts readFile readTextFile writeFile readFiles writeFiles mkdir
readdir readdirRecursive stat exists move delete snapshotRootFilesystem uploadChunk exec execArgv
spawn writeProcessStdin closeProcessStdin resizeProcess waitProcess killProcess stopProcess
listProcesses getProcess allProcesses processTree sandboxInfo openShell writeShell resizeShell
closeShell waitShell listShells listAgents createSession prompt cancelSession respondPermission
closeSession destroySession getSessionEvents listPersistedSessions listSessions setSessionMode
getSessionModes getSessionConfigOptions setSessionConfigOption setSessionModel
setSessionThoughtLevel getSessionCapabilities getSessionAgentInfo rawSessionSend rawSend
scheduleCron listCronJobs cancelCronJob registerToolkit listToolkits unregisterToolkit
restoreRootFilesystem respondToolCall checkpoint readFileRange writeFileFromUpload listPendingPermissions getRuntimeHealth readProcessOutput readShellOutput watchFs unwatchFs getSession resumeSession vmFetch createSignedPreviewUrl expireSignedPreviewUrl""".split()


class B(bytes):
    """A byte string (CBOR major type 2; a `$Uint8Array` envelope in JSON)."""


def cbor(v):
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)):
                return bytes([major << 5 | info]) + struct.pack(fmt, n)
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, B):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    raise TypeError(v)


def to_json(v):
    if isinstance(v, B):
        return ["$Uint8Array", base64.b64encode(v).decode()]
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def jbytes(v):
    return json.dumps(to_json(v), separators=(",", ":")).encode()


def write(target, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def tar_bytes(entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            elif kind == "link":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, payload, 0o777
                t.addfile(info)
            else:
                info.size, info.mode = len(payload), 0o644
                t.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


ARGS = {
    "mountFs": [["/mnt/x", {"type": "memory"}, {"readOnly": True}],
                ["/mnt/h", {"type": "hostDir", "path": "/tmp"}],
                ["/mnt/o", {"type": "overlay", "lower": "/usr"}, None]],
    "writeFile": [["/a.txt", "hello"], ["/b.bin", B(b"\x00\x01\x02")]],
    "writeFiles": [[[{"path": "/a", "content": "x"}, {"path": "/b", "content": B(b"y")}]]],
    "readdirRecursive": [["/", {"maxDepth": 2}]],
    "delete": [["/a", {"recursive": True}]],
    "mkdir": [["/d/e", {"recursive": True}]],
    "move": [["/a", "/b"]],
    "uploadChunk": [[B(b"chunk"), None], [B(b""), "0123456789abcdef0123456789abcdef"]],
    "exec": [["ls -la", {"cwd": "/", "env": {"A": "1"}, "stdin": "in", "timeout": 1000,
                         "maxOutputBytes": 4096}]],
    "execArgv": [[["printf", "%s", "x"], {"stdin": B(b"bytes")}]],
    "spawn": [["cat", [], {"streamStdin": True, "pty": {"cols": 80, "rows": 24}}]],
    "killProcess": [[7, "SIGINT"]],
    "resizeProcess": [[7, 120, 40]],
    "openShell": [[{"cols": 80, "rows": 24, "cwd": "/", "env": {"TERM": "xterm"}}]],
    "scheduleCron": [[{"schedule": "*/5 * * * *", "action": {"type": "exec", "command": "date"},
                       "overlap": "skip", "timezone": "Europe/Paris"}],
                     [{"id": "j", "schedule": "@hourly",
                       "action": {"type": "event", "name": "tick", "payload": {"n": 1}}}]],
    "registerToolkit": [[{"name": "kit", "description": "d", "tools": {"add": {
        "description": "adds", "inputSchema": {"type": "object",
                                               "properties": {"a": {"type": "number"}}},
        "timeoutMs": 1000, "examples": [{"a": 1}]}}}]],
    "createSession": [["claude", {"cwd": "/", "env": {"K": "v"}}]],
    "prompt": [["s1", "hello"]],
    "respondPermission": [["s1", "r1", "allow"]],
    "getSessionEvents": [["s1", {"since": 0, "limit": 10}]],
    "setSessionConfigOption": [["s1", "mode", "fast"]],
    "rawSend": [["s1", "session/prompt", {"x": [1, 2.5, None]}]],
    "restoreRootFilesystem": [[{"bytes": B(tar_bytes([("d", "dir", None), ("d/f", "file", b"x")]))}],
                              [{"uploadId": "0123456789abcdef0123456789abcdef"}]],
    "respondToolCall": [["r1", {"ok": {"text": "done", "data": {"k": 1}}}], ["r2", {"err": "no"}]],
    "readFiles": [[["/a", "/b"]]],
    "writeProcessStdin": [[3, "data"], [3, B(b"data")]],
}


def main():
    # frames: selector 0 = CBOR, 1 = JSON.
    frames = [{"body": {"tag": "SubscriptionRequest",
                        "val": {"eventName": "processOutput", "subscribe": True}}},
              {"body": {"tag": "CancelRequest", "val": {"id": 7}}}]
    for i, (name, arglists) in enumerate(sorted(ARGS.items())):
        for args in arglists:
            frames.append({"body": {"tag": "ActionRequest",
                                    "val": {"id": i + 1, "name": name, "args": args}}})
    frames.append({"body": {"tag": "ActionRequest", "val": {"id": 99, "name": "nope", "args": []}}})
    for f in frames:
        write("frames", b"\x00" + cbor(f))
        write("frames", b"\x01" + jbytes(f))

    # positional_args: selector = action index << 1 | encoding bit.
    for name, arglists in ARGS.items():
        i = ACTIONS.index(name)
        for args in arglists:
            write("positional_args", bytes([(i << 1) & 0xFF]) + cbor(args))
            write("positional_args", bytes([((i << 1) | 1) & 0xFF]) + jbytes(args))

    # envelope: even selector = JSON, odd = CBOR.
    for text in [
        '[["$Uint8Array","AAEC"],{"a":["$BigInt","12"]},["$$HOME",["$Undefined",0]]]',
        '["$Undefined",0]', '["$BigInt","-9007199254740993"]', '["$$$x",1]', '["$HOME",1]',
        '{"k":[["$Uint8Array",""],1.5,null,true,"$"]}',
    ]:
        write("envelope", b"\x00" + text.encode())
        write("envelope", b"\x01" + cbor(json.loads(text)))
    write("envelope", b"\x01" + b"\xc2\x42\x01\x00")        # bignum tag
    write("envelope", b"\x01" + b"\xd8\x40\x42\x01\x02")    # tag 64 around bytes
    write("envelope", b"\x01" + b"\xa1\x01\x02")            # non-text key

    # snapshot_restore: selector 0 = raw, 1 = checksums fixed, 2 = built from the bytes.
    canonical = tar_bytes([("./", "dir", None), ("dir", "dir", None), ("dir/f", "file", b"hi"),
                           ("dir/l", "link", "f"), ("up", "link", "dir/../before"),
                           ("mnt", "dir", None), ("mnt/mem", "dir", None),
                           ("mnt/mem/x", "file", b"m"), ("mnt/ro/y", "file", b"r")])
    write("snapshot_restore", b"\x00" + canonical)
    write("snapshot_restore", b"\x01" + canonical)
    write("snapshot_restore", b"\x00" + tar_bytes([("a" * 150, "file", b"long")]))
    write("snapshot_restore", b"\x00" + tar_bytes([("p/" + "b" * 120, "link", "../" * 2 + "c")],
                                                  tarfile.PAX_FORMAT))
    write("snapshot_restore", b"\x02" + bytes(range(256)))


if __name__ == "__main__":
    main()
