"""nginx in front of the master: TLS, HTTP redirected to HTTPS, clips straight from the NAS.

The site is written from smartcam.conf by `smartcam master --nginx-site` (the role installs
its output; the demo runs nginx on it), so nginx's NAS folder, ports and certificate are the
ones the master itself reads, with no second copy to drift (the camera's C2 lesson).

The certificate is self-signed and made on first use (`ensure_certificate`, with Debian's
openssl) unless [master] certificate and key name your own (from Let's Encrypt, say).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
from pathlib import Path

from smartcam.config import Config
from smartcam.errors import SmartcamError

CERT_DAYS = 825  # the longest validity browsers accept for a certificate they are told to trust

SITE = """\
# smartcam master: written by `smartcam master --nginx-site` from {conf}; do not edit here.
upstream smartcam_master {{
    server {upstream};
    keepalive 8;
    keepalive_timeout 20s;
}}

# At most ten logins a minute from one address reach the app, which slows guessing further.
limit_req_zone $binary_remote_addr zone=smartcam_login:1m rate=10r/m;

{redirect}server {{
    # `listen ... http2`, not `http2 on`: Debian 12's nginx 1.22 has only the former
    listen {https} ssl http2;
    server_name _;
    server_tokens off;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_timeout 1d;
    ssl_session_cache shared:smartcam_master:1m;
    client_max_body_size 64k;

    add_header Strict-Transport-Security "max-age=31536000" always;
    add_header X-Content-Type-Options "nosniff" always;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    # with its port: the app compares a request's Origin with it
    proxy_set_header Host $http_host;
    # The app trusts X-Forwarded-For from nginx alone (waitress trusted_proxy = 127.0.0.1)
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto https;
    proxy_set_header X-Accel-Base /_nas/;
    proxy_connect_timeout 5s;
    proxy_read_timeout 60s;

    location / {{
        proxy_pass http://smartcam_master;
    }}

    location = /api/login {{
        limit_req zone=smartcam_login burst=5 nodelay;
        limit_req_status 429;
        proxy_pass http://smartcam_master;
    }}

    location ~ ^/api/cameras/[^/]+/live\\.mjpg$ {{
        proxy_pass http://smartcam_master;
        proxy_buffering off;
        gzip off;
        proxy_read_timeout 120s;
    }}

    location /_nas/ {{
        # Only the app's X-Accel-Redirect, after it checked the user's cameras, gets here.
        internal;
        alias {nas}/;
        autoindex off;
        disable_symlinks on from=$document_root;
        types {{
            video/mp4 mp4;
            image/jpeg jpg;
        }}
        default_type application/octet-stream;
        sendfile on;
        add_header Strict-Transport-Security "max-age=31536000" always;
        add_header X-Content-Type-Options "nosniff" always;
        add_header Cache-Control "private, max-age=86400";
    }}
}}
"""

REDIRECT = """\
server {{
    listen {http};
    server_name _;
    server_tokens off;
    return 301 https://$host{port_suffix}$request_uri;
}}

"""


class CertificateError(SmartcamError):
    """The self-signed certificate could not be made."""


def certificate_paths(cfg: Config) -> tuple[Path, Path]:
    m = cfg.master
    tls = Path(m.state_dir) / "tls"
    return Path(m.certificate or tls / "cert.pem"), Path(m.key or tls / "key.pem")


def site(cfg: Config, conf: str = "smartcam.conf") -> str:
    m = cfg.master
    cert, key = certificate_paths(cfg)
    listen = m.listen
    https = f"{m.https_listen.host}:{m.https_listen.port or 443}"
    redirect = ""
    if m.http_listen is not None:
        port = m.https_listen.port or 443
        redirect = REDIRECT.format(http=f"{m.http_listen.host}:{m.http_listen.port or 80}",
                                   port_suffix="" if port == 443 else f":{port}")
    return SITE.format(conf=conf, upstream=f"{listen.host}:{listen.port or 8090}",
                       redirect=redirect, https=https, cert=cert, key=key,
                       nas=str(cfg.storage.nas).rstrip("/"))


def ensure_certificate(cfg: Config, names: tuple[str, ...] = ()) -> Path | None:
    """Make the self-signed certificate if the configured one does not exist; returns the
    certificate made, or None when there was one (ours or yours)."""
    cert, key = certificate_paths(cfg)
    if cert.exists() and key.exists():
        return None
    if cfg.master.certificate:
        raise CertificateError(f"[master] certificate {cert} or key {key} does not exist")
    hostname = socket.gethostname()
    names = names or (hostname, f"{hostname}.local", "localhost", "127.0.0.1")
    alt = ",".join(f"IP:{n}" if _is_ip(n) else f"DNS:{n}" for n in dict.fromkeys(names))
    cert.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-sha256", "-days", str(CERT_DAYS), "-nodes", "-subj", f"/CN={names[0]}",
         "-addext", f"subjectAltName={alt}", "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise CertificateError(f"openssl could not make a certificate: {done.stderr.strip()}")
    key.chmod(0o600)
    return cert


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


STANDALONE = """\
# nginx for the master alone, everything under {dir} (the demo and the tests run it so).
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{
    worker_connections 256;
}}
http {{
    {mime_types}
    default_type application/octet-stream;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/client_body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    include {site};
}}
"""


def standalone(cfg: Config, directory: Path) -> Path:
    """A complete nginx.conf in `directory` serving the master's site; returns its path.
    Run it with: nginx -p DIR -e DIR/error.log -c DIR/nginx.conf -g 'daemon off;'."""
    (directory / "tmp").mkdir(parents=True, exist_ok=True)
    site_file = directory / "smartcam-master.conf"
    site_file.write_text(site(cfg))
    mime = Path("/etc/nginx/mime.types")
    conf = directory / "nginx.conf"
    conf.write_text(STANDALONE.format(
        dir=directory, site=site_file,
        user="user root;\n" if os.geteuid() == 0 else "",  # workers read the demo's folders
        mime_types=f"include {mime};" if mime.exists() else ""))
    return conf
