"""Notifications against a real SMTP server (aiosmtpd) and a webhook receiver on loopback:
one message of each per armed incident, none when disarmed, one when a camera goes offline and
one when it is back; a failing webhook is retried, then given up loudly; a storm is capped."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from tests.host.hostproc import free_port
from tests.master.world import make_master, put_clip
from tests.waiting import wait_for

SECRET = "hook-secret-123"


class Mailbox:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.mails.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


class Hook(http.server.BaseHTTPRequestHandler):
    calls: list = []
    status = 200

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.calls.append((dict(self.headers), body))
        self.send_response(Hook.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def world(tmp_path):
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    Hook.calls, Hook.status = [], 200
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    master = make_master(tmp_path)
    master.close()
    conf = tmp_path / "smartcam.conf"
    conf.write_text(conf.read_text().replace("[master]\n", (
        f"[master]\nwebhook = http://127.0.0.1:{hook.server_address[1]}/hook\n"
        f"webhook_secret = {SECRET}\nsmtp = 127.0.0.1:{smtp.port}\nmail_to = me@example.org\n"
        "notify_limit = 4\n")))
    from smartcam import config
    from smartcam.master.process import Master
    master = Master(config.load(str(conf)), mdns=False)
    master.notifications.retries = (0.05, 0.05)
    stop = threading.Event()
    thread = threading.Thread(target=master.notifications.run, args=(stop,))
    thread.start()
    yield master, mailbox, tmp_path / "nas"
    stop.set()
    thread.join()
    master.close()
    hook.shutdown()
    hook.server_close()
    smtp.stop()


def test_an_armed_incident_is_told_once_by_webhook_and_mail(world):
    master, mailbox, nas = world
    now = time.time()
    put_clip(nas, "cam-a", now - 20, "aaaaaaaa0001")
    put_clip(nas, "cam-b", now - 19, "bbbbbbbb0001", incident="aaaaaaaa0001", cause="peer",
             origin="cam-a")
    master.index.poll(now)
    wait_for(lambda: len(Hook.calls) == 1 and len(mailbox.mails) == 1, timeout=10,
             what="one webhook and one mail")
    headers, body = Hook.calls[0]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Smartcam-Signature"] == f"sha256={expected}"
    told = json.loads(body)
    assert told["event"] == "incident" and told["incident"] == "aaaaaaaa0001"
    assert told["url"] == "https://master.test/incident/aaaaaaaa0001"
    mail = mailbox.mails[0]
    assert "incident" in mail["Subject"] and mail["To"] == "me@example.org"
    assert [p.get_content_type() for p in mail.iter_attachments()] == ["image/jpeg"]
    # the peer's clip arriving later, or a restart's look, tells nothing again
    put_clip(nas, "cam-c", now - 10, "cccccccc0001", incident="aaaaaaaa0001", cause="peer")
    master.index.poll(now)
    master.index.reconcile()
    time.sleep(0.5)
    assert len(Hook.calls) == 1 and len(mailbox.mails) == 1


def test_a_disarmed_group_is_silent_and_old_clips_tell_nothing(world):
    master, mailbox, nas = world
    master.arming.set("yard", "disarmed", None, "alice")
    now = time.time()
    put_clip(nas, "cam-a", now - 20, "aaaaaaaa0002")
    put_clip(nas, "cam-a", now - 5 * 86400, "aaaaaaaa0003")  # an old clip, found late
    master.index.reconcile()
    time.sleep(0.5)
    assert Hook.calls == [] and mailbox.mails == []
    # a schedule that covers every minute of the week arms it again
    master.arming.set("yard", "schedule", [{"days": ["mon", "tue", "wed", "thu", "fri", "sat",
                                                     "sun"], "from": "00:00", "to": "00:00"}],
                      "alice")
    assert master.arming.state("yard")["armed"]


def test_a_camera_going_offline_and_back_is_told_once_each(world):
    master, mailbox, _ = world
    n = master.notifications
    n.cameras({"cam-a": {"online": True, "silent": False}})
    n.cameras({"cam-a": {"online": False, "silent": False}})
    n.cameras({"cam-a": {"online": False, "silent": False}})
    n.cameras({"cam-a": {"online": True, "silent": False}})
    wait_for(lambda: len(Hook.calls) == 2 and len(mailbox.mails) == 2, timeout=10,
             what="two of each")
    assert [json.loads(b)["event"] for _, b in Hook.calls] == ["camera offline",
                                                               "camera online again"]


def test_a_failing_webhook_is_retried_then_given_up_loudly(world, caplog):
    master, mailbox, _ = world
    Hook.status = 500
    master.notifications.cameras({"cam-a": {"online": True, "silent": False}})
    master.notifications.cameras({"cam-a": {"online": False, "silent": False}})
    wait_for(lambda: any(e["action"] == "notification failed"
                         for e in master.accounts.audit_log()), timeout=10,
             what="the failure in the audit log")
    assert len(Hook.calls) == 3  # the first try and two retries
    assert any("gave up sending the webhook" in r.message for r in caplog.records)
    assert len(mailbox.mails) == 1  # the mail went all the same


def test_a_storm_is_capped_and_counted_in_the_next_message(world):
    master, mailbox, _ = world
    n = master.notifications
    for i in range(6):  # 12 changes, the limit is 4 an hour
        n.cameras({"cam-a": {"online": bool(i % 2 == 0), "silent": False}})
    wait_for(lambda: len(Hook.calls) == 4, timeout=10, what="four webhooks")
    time.sleep(0.3)
    assert len(Hook.calls) == 4 and n.suppressed == 1
