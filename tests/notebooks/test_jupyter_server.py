"""The student's path: the project's own Jupyter server (what `make lab`
starts) lists the gan_tutorial kernel, starts it through its REST API, and
runs Rust cells over the kernel's websocket, as JupyterLab does."""
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import websocket

from gan_kernel import setup_cell

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path_factory.mktemp("jupyter") / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--port-retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(log.parent / "runtime")},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"jupyter server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
    yield base, token
    proc.terminate()
    proc.wait(timeout=30)


def api(server, method, path, body=None):
    base, token = server
    req = urllib.request.Request(f"{base}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read()
        return json.loads(text) if text else None


def execute(ws, code, timeout=600):
    """Sends an execute_request on the kernel's websocket; returns (status, stdout, stderr)."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex, "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False},
    }))
    stdout, stderr, status, idle = [], [], None, False
    deadline = time.monotonic() + timeout
    while not (idle and status) and time.monotonic() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            (stdout if content["name"] == "stdout" else stderr).append(content["text"])
        elif kind == "error":
            stderr.append(content["evalue"] + "\n" + "\n".join(content["traceback"]))
        elif kind == "execute_reply":
            status = content["status"]
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    return status, "".join(stdout), "".join(stderr)


def test_the_server_lists_the_kernel(server):
    specs = api(server, "GET", "/api/kernelspecs")["kernelspecs"]
    assert "gan_tutorial" in specs, sorted(specs)
    assert specs["gan_tutorial"]["spec"]["display_name"] == "Rust (gan_tutorial)"
    assert specs["gan_tutorial"]["spec"]["language"] == "rust"


def test_a_kernel_started_by_the_server_runs_rust_cells(server):
    # As JupyterLab opens a notebook: a session for its path, so the kernel
    # starts in notebooks/ and the setup cell's `path = ".."` finds the crate.
    session = api(server, "POST", "/api/sessions",
                  {"path": "01_vanilla_gan.ipynb", "type": "notebook", "name": "", "kernel": {"name": "gan_tutorial"}})
    kernel = session["kernel"]
    base, token = server
    ws = websocket.create_connection(f"ws{base[4:]}/api/kernels/{kernel['id']}/channels?token={token}", timeout=600)
    try:
        status, _, err = execute(ws, setup_cell())
        assert status == "ok", err
        status, out, err = execute(ws, 'use gan_tutorial::prelude::*;\nprintln!("{:?}", embedded()?.train.to_tensor_pm1(Device::Cpu).size());')
        assert (status, out.strip(), err) == ("ok", "[9003, 784]", "")
    finally:
        ws.close()
        api(server, "DELETE", f"/api/sessions/{session['id']}")
