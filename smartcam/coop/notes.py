"""NAS discovery: every camera leaves a note on the shared NAS saying where it can be reached.

For peers that mDNS cannot reach (another subnet, multicast blocked). Contract (DESIGN.md):
`<nas>/<camera>/discovery.txt`, key=value lines `name`, `group`, `hostname`, `addresses`
(comma-separated), `port`, `version`, `updated` (ISO 8601 UTC), rewritten atomically every
minute (and at once when our addresses change); the other cameras' files are read every few
seconds and a note older than five minutes is stale. Everything goes through storage.mount's
`Nas`, which checks the NAS is really mounted first, so an unmounted mount point on the SD card
stays untouched. Unknown keys and comment lines are ignored, so the format can grow.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from smartcam.clips.names import NAME
from smartcam.coop.table import API, PeerTable, Sighting
from smartcam.errors import SmartcamError
from smartcam.files import write_atomic_at
from smartcam.storage.mount import Nas, NasUnavailable

log = logging.getLogger(__name__)
FILE = "discovery.txt"
KEYS = ("name", "group", "hostname", "addresses", "port", "version", "updated")
WRITE_SECONDS = 60.0
READ_SECONDS = 10.0
STALE_SECONDS = 300.0
MAX_BYTES = 4096
AHEAD = 30.0  # seconds a note's clock may run ahead of ours (as for triggers); more: ignored


class DiscoveryError(SmartcamError, ValueError):
    """A discovery.txt that cannot be read as one."""


@dataclass(frozen=True)
class Record:
    """One camera's discovery.txt."""

    name: str
    group: str
    hostname: str
    addresses: tuple[str, ...]
    port: int
    version: str
    updated: float  # unix time

    def same_place(self, other: Record | None) -> bool:
        """Equal but for `updated`: nothing a peer needs to hear about at once."""
        return other is not None and (self.name, self.group, self.hostname, self.addresses,
                                      self.port) == (other.name, other.group, other.hostname,
                                                     other.addresses, other.port)

    def sighting(self, stale: float = STALE_SECONDS, now: float | None = None) -> Sighting:
        # A note from the future (a wrong clock) counts as written now: it must still expire.
        seen = min(self.updated, time.time() if now is None else now)
        return Sighting("nas", self.name, self.group, self.addresses, self.port, API,
                        self.hostname, self.version, seen, seen + stale)


def format_record(record: Record) -> str:
    stamp = datetime.fromtimestamp(record.updated, UTC).isoformat(timespec="seconds")
    values = {
        "name": record.name,
        "group": record.group,
        "hostname": record.hostname,
        "addresses": ",".join(record.addresses),
        "port": str(record.port),
        "version": record.version,
        "updated": stamp.replace("+00:00", "Z"),
    }
    head = f"# smartcam discovery note of camera {record.name}: rewritten every minute.\n"
    return head + "".join(f"{k}={values[k]}\n" for k in KEYS)


def parse_record(text: str) -> Record:
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise DiscoveryError(f"line {number} is not key=value")
        values[key.strip()] = value.strip()
    missing = [k for k in KEYS if k not in values]
    if missing:
        raise DiscoveryError(f"missing {', '.join(missing)}")
    if not (NAME.fullmatch(values["name"]) and NAME.fullmatch(values["group"])):
        raise DiscoveryError("name and group must be camera names (a-z, 0-9, -)")
    try:
        port = int(values["port"])
        updated = datetime.fromisoformat(values["updated"].replace("Z", "+00:00"))
    except ValueError as err:
        raise DiscoveryError(f"bad port or updated: {err}") from err
    if not 1 <= port <= 65535:
        raise DiscoveryError(f"port {port} is out of range")
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    addresses = tuple(a.strip() for a in values["addresses"].split(",") if a.strip())
    if not values["name"] or not addresses:
        raise DiscoveryError("name and addresses must not be empty")
    return Record(values["name"], values["group"], values["hostname"], addresses, port,
                  values["version"], updated.timestamp())


class NasDiscovery:
    """Writes our note and reads the others' into the peer table (on its own thread)."""

    def __init__(
        self,
        nas: Nas,
        me: Callable[[], Record | None],
        table: PeerTable,
        clock: Callable[[], float] = time.time,
        write_every: float = WRITE_SECONDS,
        read_every: float = READ_SECONDS,
        stale: float = STALE_SECONDS,
    ):
        self.nas = nas
        self.me, self.table, self.clock = me, table, clock
        self.write_every, self.read_every, self.stale = write_every, read_every, stale
        self.written: Record | None = None
        self.last_write = -float("inf")
        self.last_read = -float("inf")
        self.alive = time.monotonic()
        self._complained: set[str] = set()

    def write(self, record: Record) -> bool:
        """Put our note in place atomically; False (and nothing written) if the NAS is not up."""
        try:
            with self.nas.open(camera=record.name) as folder:
                write_atomic_at(folder, FILE, format_record(record).encode())
        except NasUnavailable:
            return False
        return True

    def scan(self) -> list[Record] | None:
        """Every fresh note, ours too (a camera with our name would have overwritten it: the
        table tells); None while the NAS is not up (nothing known)."""
        now = self.clock()
        try:
            with self.nas.root() as root:
                return [r for r in self._notes(root) if -AHEAD <= now - r.updated <= self.stale]
        except NasUnavailable:
            return None
        except OSError as err:
            log.warning("cannot list %s: %s", self.nas.path, err)
            return None

    def _notes(self, root: int) -> list[Record]:
        entries = sorted(e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
        found = []
        for camera in entries:
            if camera.startswith("."):
                continue
            where = f"{self.nas.path}/{camera}/{FILE}"
            try:
                fd = os.open(f"{camera}/{FILE}", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                             dir_fd=root)
                try:
                    text = os.read(fd, MAX_BYTES + 1)
                finally:
                    os.close(fd)
                if len(text) > MAX_BYTES:
                    raise DiscoveryError(f"larger than {MAX_BYTES} bytes")
                record = parse_record(text.decode("utf-8"))
                if record.name != camera:
                    raise DiscoveryError(f"it says it is {record.name!r}, in {camera}'s folder")
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError, DiscoveryError) as err:
                if where not in self._complained:
                    self._complained.add(where)
                    log.warning("ignoring %s: %s", where, err)
                continue
            self._complained.discard(where)
            found.append(record)
        return found

    def tick(self) -> None:
        """Write when due or when we moved, read when due."""
        now = self.clock()
        record = self.me()
        if record is not None and (
            now - self.last_write >= self.write_every or not record.same_place(self.written)
        ):
            try:
                if self.write(record):
                    self.written, self.last_write = record, now
            except OSError as err:
                log.warning("cannot write %s/%s/%s: %s", self.nas.path, record.name, FILE, err)
                self.last_write = now  # try again at the next interval, not every tick
        if now - self.last_read >= self.read_every:
            self.last_read = now
            notes = self.scan()
            if notes is not None:  # NAS away: what it said before runs out by itself
                self.table.replace_source("nas", (r.sighting(self.stale, now) for r in notes))

    def run(self, stop: threading.Event, every: float = 1.0) -> None:
        while not stop.is_set():
            self.alive = time.monotonic()
            try:
                self.tick()
            except Exception:  # a NAS gone strange must not end discovery for good
                log.exception("NAS discovery failed")
            stop.wait(every)
