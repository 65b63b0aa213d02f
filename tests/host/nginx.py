"""A real nginx running the smartcam site (roles/smartcam_nginx) for tests and benchmarks.

    with Nginx(tmp_path, upstream="127.0.0.1:8080", nas_dir=nas, camera="cam") as nginx:
        urllib.request.urlopen(nginx.url + "/api/v1/health")

The site template is rendered with jinja2 the way Ansible's template module renders it
(trim_blocks, `ansible_managed`, the `comment` filter) into a complete minimal nginx.conf whose
pid, logs and temporary files all live in tmp_path; `nginx -t` checks it, then nginx runs in the
foreground on 127.0.0.1 and a free port until stop(). Tests skip (`requires_nginx`) where nginx
is not installed: it comes from Debian (`apt-get install nginx`, in the Makefile's apt list).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jinja2
import pytest

ROLE = Path(__file__).resolve().parents[2] / "roles" / "smartcam_nginx"
TEMPLATE = ROLE / "templates" / "etc" / "nginx" / "sites-available" / "smartcam.conf.j2"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
MIME_TYPES = Path("/etc/nginx/mime.types")
START_TIMEOUT = 10.0

requires_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx)"
)

NGINX_CONF = """\
# A minimal nginx.conf around the smartcam site, everything under {dir}.
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;

events {{
    worker_connections 1024;
}}

http {{
    {mime_types}
    default_type application/octet-stream;
    sendfile on;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/client_body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;

    {extra}

    include {site};
}}
"""


def comment(text: str) -> str:
    """Ansible's `comment` filter, enough for `ansible_managed`: each line behind "# "."""
    return "\n".join(f"# {line}".rstrip() for line in str(text).splitlines())


def render_site(**variables: Any) -> str:
    """The site template rendered as Ansible would, with every variable given explicitly."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        trim_blocks=True,  # Ansible's template module's default
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["comment"] = comment
    variables.setdefault("ansible_managed", "Ansible managed: do not edit, rendered by tests")
    return env.get_template(TEMPLATE.name).render(**variables)


def site_variables(
    upstream: str, nas_dir: Path, port: int, address: str = "127.0.0.1",
    video_upstream: str = "127.0.0.1:8081", cache_dir: str = "/run/nginx-smartcam",
) -> dict[str, Any]:
    return {
        "smartcam_nginx_listen_port": port,
        "smartcam_nginx_listen_address": address,
        "smartcam_nginx_listen_ipv6": False,
        "smartcam_nginx_upstream": upstream,
        "smartcam_nginx_video_upstream": video_upstream,
        "smartcam_nginx_cache_dir": cache_dir,
        "smartcam_nginx_nas_root": str(nas_dir),
        "smartcam_nginx_server_name": "_",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_config(conf: Path, directory: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a complete config; the error log goes to directory, not /var/log."""
    assert NGINX, "nginx is not installed"
    return subprocess.run(
        [NGINX, "-t", "-q", "-p", str(directory), "-e", str(directory / "error.log"),
         "-c", str(conf)],
        capture_output=True, text=True, timeout=30,
    )


class Nginx:
    """nginx serving the smartcam site on 127.0.0.1:port in front of `upstream`.

    nas_dir is the NAS root (the site serves it; the app names the camera's folder); camera, if
    given, is the camera whose folder nas_dir/camera the tests look in. extra is http-level
    configuration added beside the site (a benchmark's static server, say).
    """

    def __init__(
        self,
        tmp_path: Path,
        upstream: str = "127.0.0.1:8080",
        nas_dir: Path | None = None,
        camera: str | None = None,
        port: int | None = None,
        extra: str = "",
        video_upstream: str = "127.0.0.1:8081",
    ):
        self.dir = Path(tmp_path) / "nginx"
        for sub in ("tmp", "site"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        nas = Path(nas_dir) if nas_dir is not None else Path(tmp_path) / "nas"
        self.nas_dir = nas / camera if camera else nas
        self.site = self.dir / "site" / "smartcam.conf"
        self.site.write_text(render_site(**site_variables(
            upstream, nas, self.port, video_upstream=video_upstream,
            cache_dir=str(self.dir / "cache"))))
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(
            dir=self.dir,
            user="user root;\n" if os.geteuid() == 0 else "",  # workers must read tmp_path
            mime_types=f"include {MIME_TYPES};" if MIME_TYPES.exists() else "",
            extra=extra,
            site=self.site,
        ))
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        if NGINX is None:
            raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
        checked = check_config(self.conf, self.dir)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{checked.stderr}")
        self._log = open(self.dir / "stderr.log", "ab")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.dir), "-e", str(self.dir / "error.log"), "-c", str(self.conf),
             "-g", "daemon off;"],
            stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers share the group, so stop() can end them all
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self.proc.poll() is not None:
                self._close_log()
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.errors()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not answer within {START_TIMEOUT} s")
            time.sleep(0.02)

    def _answers(self) -> bool:
        # Any HTTP answer will do (the upstream may not be running): nginx itself is up.
        try:
            with urllib.request.urlopen(self.url + "/_nginx_harness_probe", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def errors(self) -> str:
        """nginx's error log so far (startup failures, refused symlinks, upstream errors)."""
        log = self.dir / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()  # fast shutdown: open streams are closed
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self._close_log()

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None

    def __enter__(self) -> Nginx:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
