"""`smartcam master`: every camera of the network on one page, behind a login.

The web app (waitress, on `[master] listen`, loopback by default) sits behind nginx, which
holds TLS and serves clip files from the NAS after the app said yes (roles/smartcam_master).
Three threads besides it: discovery (mDNS, NAS notes), the fleet's health checks, and the clip
index. The first admin comes from `[master] password_hash` or a one-time setup link printed
here and kept in `<state_dir>/setup-link` (root only); the link dies with its use.
"""

from __future__ import annotations

import getpass
import logging
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import waitress

from smartcam import __version__
from smartcam.config import Config, load
from smartcam.coop.table import PeerTable
from smartcam.files import write_atomic
from smartcam.httpjson import MAX_BODY
from smartcam.master import nginx, passwords
from smartcam.master.accounts import Accounts
from smartcam.master.actions import Actions
from smartcam.master.arming import Arming
from smartcam.master.fleet import Discovery, Fleet
from smartcam.master.index import ClipIndex
from smartcam.master.notify import Notifications
from smartcam.master.shares import Shares
from smartcam.master.throttle import Throttle
from smartcam.master.web import make_app
from smartcam.sdnotify import Notifier
from smartcam.storage.mount import Nas

log = logging.getLogger("smartcam.master")
MASTER_NAME = "@master"  # the peer table's own name: no camera can have it
TELL_ARMING_EVERY = 300.0


class Master:
    def __init__(self, cfg: Config, mdns: bool = True):
        m = cfg.master
        self.cfg = cfg
        self.version = __version__
        self.nas = Nas(cfg)
        self.accounts = Accounts(Path(m.state_dir) / "master.db", m.idle_timeout,
                                 m.session_lifetime)
        self.shares = Shares(Path(m.state_dir) / "master.db")
        self.arming = Arming(Path(m.state_dir) / "master.db", cfg.system.timezone)
        self.notifications = Notifications(
            cfg, Path(m.state_dir) / "master.db", lambda group: self.arming.state(group)["armed"],
            self.accounts.audit, self.url)
        self.throttle = Throttle()
        self.index = ClipIndex(Path(m.state_dir) / "index.db", self.nas)
        self.index.on_new = lambda rows: self.notifications.clips(rows, self.thumbnail)
        self.table = PeerTable(MASTER_NAME)
        self.fleet = Fleet(self.table)
        self.actions = Actions(self.fleet, cfg.peers.secret)
        self._told: dict[str, bool] = {}  # group -> the arming last told its cameras
        self._told_at = -float("inf")
        self.discovery = Discovery(self.table, self.nas, cfg.peers.static,
                                   tuple(cfg.peers.interfaces), mdns=mdns)
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """Where people open the master (links in notifications and the setup link)."""
        return (self.cfg.master.url or f"https://{socket.getfqdn()}").rstrip("/")

    def thumbnail(self, row: dict[str, Any]) -> Path:
        return self.nas.path / row["camera"] / row["day"] / f"{row['stem']}.jpg"

    def tell_arming(self, force: bool = False) -> None:
        """Each group's arming to its cameras when it changed (a schedule's turn, a click) and
        every TELL_ARMING_EVERY seconds (a camera restarted since)."""
        groups = {self.actions.group_of(p) for p in self.table.peers()} - {""}
        states = {g: self.arming.state(g) for g in groups}
        now = time.monotonic()
        changed = {g: s for g, s in states.items()
                   if force or self._told.get(g) != s["armed"]
                   or now - self._told_at > TELL_ARMING_EVERY}
        if changed:
            self.actions.tell_arming(changed)
            self._told.update({g: s["armed"] for g, s in changed.items()})
            if len(changed) == len(states):
                self._told_at = now

    def watch(self) -> None:
        """Tell the notifications each camera's online and silent, from the last looks."""
        if not self.notifications.enabled:
            return  # nobody to tell: spare the index's query every few seconds
        silent = self.index.cameras()
        self.notifications.cameras({
            name: {"online": status.online,
                   "silent": status.online and silent.get(name, {}).get("silent", False)}
            for name, status in list(self.fleet.status.items())})

    def first_admin(self) -> str | None:
        """Make sure someone can log in: the configured admin, or a setup link (returned)."""
        m = self.cfg.master
        link_file = Path(m.state_dir) / "setup-link"
        if self.accounts.count():
            link_file.unlink(missing_ok=True)  # used: it must not mislead anyone later
            return None
        if m.password_hash:
            self.accounts.add_hashed(m.username, m.password_hash, "admin")
            log.info("created the admin %r from [master] password_hash", m.username)
            return None
        link = f"{self.url}/setup#{self.accounts.new_setup_token()}"
        write_atomic(link_file, (link + "\n").encode(), 0o600)
        log.warning("no user yet: open this one-time link to create the first admin: %s", link)
        return link

    def start(self) -> None:
        for name, worker in (("discovery", self.discovery), ("fleet", self.fleet),
                             ("index", self.index), ("notifications", self.notifications)):
            thread = threading.Thread(target=worker.run, args=(self.stop,), name=name,
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.index.close()
        self.notifications.close()
        self.arming.close()
        self.shares.close()
        self.accounts.close()


def serve(master: Master, notifier: Notifier | None = None) -> None:
    notifier = notifier or Notifier()
    listen = master.cfg.master.listen
    server = waitress.create_server(
        make_app(master), host=listen.host, port=listen.port or 8090, threads=16,
        ident="smartcam-master", channel_timeout=30, max_request_body_size=MAX_BODY,
        outbuf_high_watermark=1 << 20,
        # The client's address from X-Forwarded-For only when the local nginx sent it
        trusted_proxy="127.0.0.1", trusted_proxy_count=1,
        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto"},
        clear_untrusted_proxy_headers=True,
    )
    master.first_admin()
    master.start()
    web = threading.Thread(target=server.run, name="waitress", daemon=True)
    web.start()
    url = f"http://{listen.host}:{server.effective_port}"  # type: ignore[attr-defined]
    notifier.ready(f"serving {url}")
    log.info("serving %s", url)
    try:
        while not master.stop.wait(5.0):
            master.accounts.expire()
            master.watch()
            master.tell_arming()
            notifier.watchdog()
    finally:
        notifier.stopping()
        server.close()
        master.close()
        notifier.close()


def hash_password() -> int:
    """Print a hash for [master] password_hash, reading the password from the terminal (or
    one line of stdin), never from the command line where `ps` shows it."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("smartcam master: the two passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\n")
    if problem := passwords.weakness(password):
        print(f"smartcam master: {problem}", file=sys.stderr)
        return 1
    print(passwords.hash_password(password))
    return 0


def run(args: Any) -> int:
    if args.hash_password:
        return hash_password()
    cfg = load(args.config)
    if args.nginx_site:
        print(nginx.site(cfg, args.config or "smartcam.conf"), end="")
        return 0
    if args.standalone_nginx:
        nginx.ensure_certificate(cfg)
        print(nginx.standalone(cfg, Path(args.standalone_nginx).resolve()))
        return 0
    if args.make_certificate:
        made = nginx.ensure_certificate(cfg)
        print(f"made {made}" if made else "the certificate exists already")
        return 0
    master = Master(cfg)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: master.stop.set())
    serve(master)
    return 0
