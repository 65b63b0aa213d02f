"""Network namespaces for tests: hosts on one bridge, nothing connected to a real interface.

    lab = Lab("sc1234")                # namespaces are named sc1234-<name>
    lab.bridge("192.0.2.254/24")       # namespace sc1234-br holds br0 (and this address on it)
    lab.host("a", "192.0.2.1/24")      # namespace sc1234-a: lo, and eth0 wired into br0
    lab.popen("a", [...])              # a process inside it (ended by lab.close())
    lab.call("br", fn)                 # fn() on a thread whose sockets live in sc1234-br
    lab.start("br", fn)                # the same, without waiting for it
    lab.close()                        # processes ended, namespaces (and their links) deleted

Addresses come from TEST-NET-1 (192.0.2.0/24, RFC 5737) and exist only inside these
namespaces; the bridge lives in a namespace of its own, so no packet can reach the machine's
real network. Multicast is on for every link (mDNS needs it); `block_mdns()` drops mDNS on the
bridge with nftables (a bridge-family table in the bridge's namespace), `unblock_mdns()` lifts it.
Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); `problem()` says why it cannot run here.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
NFT_TABLE = "smartcam_test"


def problem() -> str | None:
    """Why namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: iproute2, nftables)"
    probe = f"scprobe{os.getpid()}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip", *(("-n", ns) if ns else ()), *args]
    done = subprocess.run(argv, capture_output=True, text=True)
    if check and done.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done


class Lab:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen[Any]] = []
        self._libc = ctypes.CDLL(None, use_errno=True)

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def _add_ns(self, name: str) -> str:
        ns = self.ns(name)
        ip("netns", "add", ns)
        self.namespaces.append(ns)
        ip("link", "set", "lo", "up", ns=ns)
        return ns

    def bridge(self, address: str | None = None) -> str:
        ns = self._add_ns("br")
        ip("link", "add", "br0", "type", "bridge", ns=ns)
        ip("link", "set", "br0", "multicast", "on", "up", ns=ns)
        if address:
            ip("addr", "add", address, "dev", "br0", ns=ns)
        return ns

    def host(self, name: str, address: str) -> str:
        """A namespace with eth0 (this address) wired into the bridge."""
        ns = self._add_ns(name)
        br = self.ns("br")
        port = f"p-{name}"[:15]
        ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port,
           "netns", br)
        ip("link", "set", port, "master", "br0", "multicast", "on", "up", ns=br)
        ip("link", "set", "eth0", "multicast", "on", "up", ns=ns)
        ip("addr", "add", address, "dev", "eth0", ns=ns)
        return ns

    def set_address(self, name: str, old: str, new: str) -> None:
        """A DHCP-style renumbering: the old address goes, the new one comes."""
        ns = self.ns(name)
        ip("addr", "del", old, "dev", "eth0", ns=ns)
        ip("addr", "add", new, "dev", "eth0", ns=ns)

    # -- mDNS on the bridge -------------------------------------------------------------------

    def block_mdns(self) -> None:
        rules = f"""
table bridge {NFT_TABLE} {{
    chain forward {{
        type filter hook forward priority 0; policy accept;
        ip daddr 224.0.0.251 counter drop
        udp dport 5353 counter drop
    }}
}}
"""
        self._nft(rules)

    def unblock_mdns(self) -> None:
        self.exec("br", ["nft", "delete", "table", "bridge", NFT_TABLE], check=False)

    def mdns_dropped(self) -> int:
        """Packets the block has dropped so far."""
        out = self.exec("br", ["nft", "list", "table", "bridge", NFT_TABLE]).stdout
        return sum(int(word.split()[0]) for word in out.split("packets ")[1:])

    def _nft(self, rules: str) -> None:
        done = subprocess.run(["ip", "netns", "exec", self.ns("br"), "nft", "-f", "-"],
                              input=rules, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"nft: {done.stderr.strip()}")

    # -- running things inside ------------------------------------------------------------------

    def argv(self, name: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(name), *argv]

    def popen(self, name: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(self.argv(name, argv), start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    def exec(self, name: str, argv: Sequence[str], check: bool = True, timeout: float = 60,
             **kwargs: Any) -> subprocess.CompletedProcess:
        done = subprocess.run(self.argv(name, argv), capture_output=True, text=True,
                              timeout=timeout, **kwargs)
        if check and done.returncode:
            raise RuntimeError(f"{' '.join(argv)} in {name}: {done.stderr.strip()}")
        return done

    def call(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on a thread that has entered the namespace: its sockets are made there."""
        result: dict[str, Any] = {}
        self.start(name, fn, *args, result=result).join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def start(self, name: str, fn: Callable[..., Any], *args: Any,
              result: dict[str, Any] | None = None) -> threading.Thread:
        """fn(*args) on a new daemon thread inside the namespace; its value or exception goes
        into `result`."""
        result = {} if result is None else result

        def inside() -> None:
            fd = os.open(f"/run/netns/{self.ns(name)}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if self._libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, os.strerror(err))
            finally:
                os.close(fd)
            try:
                result["value"] = fn(*args)
            except BaseException as err:  # handed to the caller
                result["error"] = err

        thread = threading.Thread(target=inside, name=f"netns-{name}", daemon=True)
        thread.start()
        return thread

    @staticmethod
    def end(proc: subprocess.Popen[Any], timeout: float = 20) -> int:
        """SIGTERM the process (its session: ip netns exec execs it), SIGKILL if it lingers."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        return proc.returncode

    def close(self) -> None:
        for proc in reversed(self.procs):
            self.end(proc)
        self.procs.clear()
        for ns in reversed(self.namespaces):
            ip("netns", "del", ns, check=False)  # its links go with it
        self.namespaces.clear()
