"""Users, sessions and the first admin: what must hold when the master faces the internet."""

import time
from pathlib import Path

import pytest

from smartcam.master import passwords
from smartcam.master.accounts import AccountError, Accounts, token_hash
from smartcam.master.throttle import Throttle

GOOD = "correct horse battery"


@pytest.fixture
def accounts(tmp_path):
    a = Accounts(tmp_path / "master.db", idle=3600, lifetime=86400)
    yield a
    a.close()


def test_a_hash_keeps_its_parameters_and_never_the_password():
    stored = passwords.hash_password(GOOD)
    assert stored.startswith("scrypt$15$8$3$") and GOOD not in stored
    assert passwords.verify(GOOD, stored) and not passwords.verify(GOOD + "!", stored)
    assert stored != passwords.hash_password(GOOD)  # salted
    weaker = stored.replace("scrypt$15$8$3$", "scrypt$14$8$1$")
    assert passwords.needs_rehash(weaker) and not passwords.needs_rehash(stored)
    assert not passwords.verify(GOOD, "") and not passwords.verify(GOOD, "$argon2id$x")


def test_weak_passwords_are_refused_with_the_reason():
    assert "12 characters" in passwords.weakness("short")
    assert "user name" in passwords.weakness("alice-is-the-best", "alice")
    assert passwords.weakness("a" * 20) is not None
    assert passwords.weakness(GOOD, "alice") is None


def test_the_setup_token_makes_one_admin_once(accounts):
    token = accounts.new_setup_token()
    with pytest.raises(AccountError, match="not valid"):
        accounts.setup("wrong", "alice", GOOD)
    admin = accounts.setup(token, "alice", GOOD)
    assert admin.admin and accounts.count() == 1
    with pytest.raises(AccountError, match="not valid"):
        accounts.setup(token, "mallory", GOOD)  # dies with its use
    assert [u.name for u in accounts.users()] == ["alice"]


def test_only_the_tokens_hash_is_stored(accounts, tmp_path):
    alice = accounts.add("alice", GOOD, "admin")
    token = accounts.open_session(alice, "192.0.2.1", "test")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("master.db*"))
    assert token.encode() not in raw and token_hash(token).encode() in raw
    assert (tmp_path / "master.db").stat().st_mode & 0o777 == 0o600


def test_sessions_end_at_logout_password_and_role_change_and_removal(accounts):
    accounts.add("alice", GOOD, "admin")
    bob = accounts.add("bob", GOOD, "viewer", ("cam-a",))
    t1, t2 = accounts.open_session(bob, "a", "x"), accounts.open_session(bob, "b", "y")
    assert accounts.session(t1).user.may_see("cam-a")
    assert not accounts.session(t1).user.may_see("cam-b")
    accounts.end_session(t1)
    assert accounts.session(t1) is None and accounts.session(t2) is not None
    accounts.set_password(bob, "another long phrase")
    assert accounts.session(t2) is None
    assert accounts.login("bob", GOOD) is None and accounts.login("bob", "another long phrase")
    t3 = accounts.open_session(bob, "a", "x")
    accounts.change("bob", "viewer", None)
    assert accounts.session(t3) is None
    t4 = accounts.open_session(bob, "a", "x")
    accounts.remove("bob")
    assert accounts.session(t4) is None
    with pytest.raises(AccountError, match="last admin"):
        accounts.remove("alice")
    with pytest.raises(AccountError, match="last admin"):
        accounts.change("alice", "viewer", None)


def test_idle_and_absolute_timeouts(tmp_path, monkeypatch):
    a = Accounts(tmp_path / "m.db", idle=100, lifetime=1000)
    user = a.add("alice", GOOD, "admin")
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    token = a.open_session(user, "a", "x")
    now[0] += 90
    assert a.session(token) is not None  # used: the idle clock starts again
    now[0] += 95
    assert a.session(token) is not None
    now[0] += 101
    assert a.session(token) is None  # idle too long
    token, opened = a.open_session(user, "a", "x"), now[0]
    while now[0] + 90 - opened <= 1000:
        now[0] += 90
        assert a.session(token) is not None
    now[0] += 90
    assert a.session(token) is None  # over the lifetime, however often used
    a.close()


def test_users_see_and_end_their_own_sessions_only(accounts):
    alice = accounts.add("alice", GOOD, "admin")
    bob = accounts.add("bob", GOOD, "viewer")
    accounts.open_session(alice, "192.0.2.7", "firefox")
    bobs = accounts.open_session(bob, "192.0.2.8", "chromium")
    (mine,) = accounts.sessions_of(alice)
    assert mine["address"] == "192.0.2.7" and "id_hash" not in mine
    (his,) = accounts.sessions_of(bob)
    assert not accounts.end_public(alice, his["id"])  # not hers to end
    assert accounts.session(bobs) is not None
    assert accounts.end_public(bob, his["id"]) and accounts.session(bobs) is None


def test_guessing_is_slowed_per_address_and_per_account_and_forgiven_in_time():
    now = [0.0]
    t = Throttle(per_address=5, window=60, free=3, max_delay=30, clock=lambda: now[0])
    for _ in range(3):
        assert t.wait("192.0.2.1", "alice") == 0
        t.failed("192.0.2.1", "alice")
    assert t.wait("192.0.2.1", "alice") == 1.0  # the fourth waits a second
    assert t.wait("192.0.2.9", "alice") == 1.0  # from anywhere: per account
    assert t.wait("192.0.2.1", "bob") == 0  # another account from this address: not yet
    for _ in range(6):
        now[0] += 31
        t.failed("198.51.100.1", "alice")
    assert t.wait("192.0.2.9", "alice") == 30.0  # doubling, capped
    now[0] += 30
    assert t.wait("192.0.2.9", "alice") == 0  # a ban always runs out
    for i in range(5):
        t.failed("203.0.113.5", f"user{i}")
    assert 0 < t.wait("203.0.113.5", "someone-else") <= 60  # per address: spraying names
    t.succeeded("192.0.2.9", "alice")
    assert t.wait("192.0.2.9", "alice") == 0


def test_a_totp_code_is_taken_once_and_a_recovery_code_once(accounts):
    from smartcam.master import totp

    alice = accounts.add("alice", GOOD, "admin")
    secret = accounts.totp_offer(alice)
    now = int(time.time() // totp.STEP)
    with pytest.raises(AccountError, match="does not match"):
        accounts.totp_confirm(alice, "000000" if totp.code(secret, now) != "000000" else "1")
    codes = accounts.totp_confirm(alice, totp.code(secret, now))
    assert len(codes) == 10 and len(set(codes)) == 10
    alice = accounts.login("alice", GOOD)
    assert alice.totp
    assert accounts.second_step(alice, totp.code(secret, now)) is None  # used to confirm
    assert accounts.second_step(alice, totp.code(secret, now + 1)) == "totp"
    assert accounts.second_step(alice, totp.code(secret, now + 1)) is None  # no replay
    assert accounts.second_step(alice, totp.code(secret, now + 5)) is None  # too far ahead
    assert accounts.second_step(alice, codes[3].upper()) == "recovery code"
    assert accounts.second_step(alice, codes[3]) is None  # used up
    raw = b"".join(p.read_bytes() for p in accounts_files(accounts))
    assert codes[0].encode() not in raw
    accounts.totp_off(alice)
    assert not accounts.login("alice", GOOD).totp


def accounts_files(accounts):
    path = Path(accounts._db.execute("PRAGMA database_list").fetchone()[2])
    return list(path.parent.glob(path.name + "*"))


def test_totp_matches_rfc_6238():
    import base64

    from smartcam.master import totp

    key = base64.b32encode(b"12345678901234567890").decode()
    # RFC 6238 appendix B (SHA-1), the last six of its eight digits
    assert [totp.code(key, t // 30) for t in (59, 1111111109, 2000000000)] == [
        "287082", "081804", "279037"]
