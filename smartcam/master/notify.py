"""Notifications: a webhook and e-mail, when an armed group has an incident and when a camera
goes offline or silent and comes back.

Once per incident (remembered in master.db, so a restart does not repeat one), with its first
thumbnail and a link; only for clips that started within RECENT seconds, so rebuilding the
index from an old NAS sends nothing. At most `[master] notify_limit` messages an hour: a storm
of motion is counted and the count rides on the next message. The webhook's body is signed
(`X-Smartcam-Signature: sha256=<HMAC of the body with webhook_secret>`) and retried with
backoff; when every try failed the failure is logged as an error and in the audit log.
Delivery runs on its own thread: a dead mail server never holds up the index or the page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from smartcam.master.sqlite import Store

log = logging.getLogger(__name__)
RECENT = 600.0
RETRIES = (1.0, 4.0, 15.0)  # seconds before the 2nd, 3rd and 4th try
TIMEOUT = 10.0
SCHEMA = "CREATE TABLE IF NOT EXISTS notified (incident TEXT PRIMARY KEY, t REAL NOT NULL);"


class Notifications(Store):
    schema = SCHEMA

    def __init__(self, cfg: Any, path: Path, armed: Callable[[str], bool],
                 audit: Callable[..., None], base_url: str,
                 retries: tuple[float, ...] = RETRIES, clock: Callable[[], float] = time.time):
        self.m = cfg.master
        self.armed, self.audit, self.base_url = armed, audit, base_url.rstrip("/")
        self.retries, self.clock = retries, clock
        super().__init__(path)
        self._queue: deque[dict[str, Any]] = deque()
        self._wake = threading.Event()
        self._sent: deque[float] = deque()
        self.suppressed = 0
        self.alive = time.monotonic()
        self._last: dict[str, dict[str, bool]] = {}  # camera -> {"online":, "silent":}

    @property
    def enabled(self) -> bool:
        return bool(self.m.webhook or (self.m.smtp and self.m.mail_to))

    # -- what happened ----------------------------------------------------------------------

    def clips(self, rows: list[dict[str, Any]], thumbnail: Callable[[dict[str, Any]], Path]
              ) -> None:
        """New clips in the index: a new incident of an armed group is told once."""
        now = self.clock()
        for row in sorted(rows, key=lambda r: r["start"]):
            if now - row["start"] > RECENT or not self.enabled:
                continue
            for incident in row["incidents"]:
                if not self._first(incident):
                    continue
                group = row["grp"] or "default"
                if not self.armed(group):
                    log.info("incident %s of disarmed group %s: not told", incident, group)
                    continue
                jpg = thumbnail(row) if row["thumbnail"] else None
                self._put({"event": "incident", "incident": incident, "group": group,
                           "camera": row["camera"], "cause": row["cause"],
                           "origin": row["origin"], "start": row["start"],
                           "url": f"{self.base_url}/incident/{incident}"}, jpg)

    def cameras(self, states: dict[str, dict[str, bool]]) -> None:
        """Each camera's online and silent now; a change from the last look is told."""
        for name, now in states.items():
            before = self._last.get(name)
            self._last[name] = now
            if before is None or not self.enabled:
                continue
            # (key, its value when something is wrong, what to say then, and when it is over)
            for key, wrong, bad, good in (("online", False, "offline", "online again"),
                                          ("silent", True, "silent", "recording again")):
                if before[key] != now[key]:
                    self._put({"event": f"camera {bad if now[key] == wrong else good}",
                               "camera": name, "url": f"{self.base_url}/"}, None)

    def _first(self, incident: str) -> bool:
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO notified VALUES (?, ?)",
                             (incident, self.clock()))
            db.execute("DELETE FROM notified WHERE t < ?", (self.clock() - 90 * 86400,))
        return cur.rowcount > 0

    def _put(self, message: dict[str, Any], jpg: Path | None) -> None:
        now = self.clock()
        while self._sent and now - self._sent[0] > 3600:
            self._sent.popleft()
        if len(self._sent) >= self.m.notify_limit:
            self.suppressed += 1
            log.info("notification limit reached: not sending %s", message["event"])
            return
        self._sent.append(now)
        message = {**message, "time": now, "suppressed_before": self.suppressed}
        self.suppressed = 0
        self._queue.append({"message": message, "jpg": jpg})
        self._wake.set()

    # -- telling ----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.alive = time.monotonic()
            self._wake.wait(1.0)
            self._wake.clear()
            while self._queue and not stop.is_set():
                item = self._queue.popleft()
                for name, send in (("webhook", self._webhook if self.m.webhook else None),
                                   ("mail", self._mail if self.m.smtp and self.m.mail_to
                                    else None)):
                    if send is not None:
                        self._deliver(name, send, item, stop)

    def _deliver(self, name: str, send: Callable[[dict[str, Any]], None],
                 item: dict[str, Any], stop: threading.Event) -> None:
        event = item["message"]["event"]
        for attempt, pause in enumerate((0.0, *self.retries)):
            if pause and stop.wait(pause):
                return
            try:
                send(item)
                return
            except (OSError, smtplib.SMTPException, ValueError) as err:
                log.warning("%s for %s failed (try %d): %s", name, event, attempt + 1, err)
                problem = str(err)
        log.error("gave up sending the %s for %s after %d tries: %s", name, event,
                  len(self.retries) + 1, problem)
        self.audit("master", "", "notification failed", f"{name}: {event}: {problem}", ok=False)

    def _webhook(self, item: dict[str, Any]) -> None:
        body = json.dumps(item["message"]).encode()
        signature = hmac.new(self.m.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.m.webhook, data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "smartcam-master",
            "X-Smartcam-Signature": f"sha256={signature}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=TIMEOUT) as answer:
            if not 200 <= answer.status < 300:
                raise OSError(f"the webhook answered {answer.status}")

    def _mail(self, item: dict[str, Any]) -> None:
        m, message = self.m, item["message"]
        mail = EmailMessage()
        mail["From"], mail["To"] = m.mail_from, m.mail_to
        what = message["event"]
        where = message.get("camera", "")
        mail["Subject"] = f"smartcam: {what}" + (f" ({where})" if where else "")
        lines = [f"{what}: {where}", time.strftime("%Y-%m-%d %H:%M:%S %Z",
                                                   time.localtime(message["time"]))]
        if message.get("suppressed_before"):
            lines.append(f"({message['suppressed_before']} more were not sent: the limit is "
                         f"{m.notify_limit} an hour)")
        lines.append(message["url"])
        mail.set_content("\n".join(lines) + "\n")
        if item["jpg"] is not None:
            try:
                mail.add_attachment(Path(item["jpg"]).read_bytes(), maintype="image",
                                    subtype="jpeg", filename="snapshot.jpg")
            except OSError as err:
                log.warning("no thumbnail in the mail: %s", err)
        with smtplib.SMTP(m.smtp.host, m.smtp.port or 587, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if m.smtp_user:
                smtp.login(m.smtp_user, m.smtp_password)
            smtp.send_message(mail)
