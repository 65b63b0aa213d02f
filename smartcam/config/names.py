"""A camera's or a group's name, as smartcam.conf allows it (in clip file names, NAS folders,
mDNS and triggers: clips.names builds on NAME_PATTERN), and the default camera name taken from
the machine's hostname."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from smartcam.config import values as v

# Host names a whole fleet may share straight out of the box: a camera named after one would
# share its NAS folder and ignore its peers, so it gets a suffix from its machine id.
STOCK_HOSTNAMES = {"raspberrypi", "localhost", "debian", "ubuntu", "smartcam", "pi", ""}
MACHINE_ID = Path("/etc/machine-id")


def hostname_name(machine_id: Path = MACHINE_ID) -> str:
    """This machine's hostname as a camera name: first label, lowercased, cleaned to a-z 0-9 -;
    a stock hostname gets `-` and four hex digits of /etc/machine-id."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", socket.gethostname().split(".")[0].lower())
    name = cleaned.strip("-")[:32].strip("-")
    if name in STOCK_HOSTNAMES:
        try:
            suffix = re.sub(r"[^0-9a-f]", "", machine_id.read_text().lower())[-4:]
        except OSError:
            suffix = ""
        name = f"{name or 'smartcam'}-{suffix}" if suffix else name or "smartcam"
    return name


# A camera's or a group's name: in clip file names (clips.names), NAS folders, mDNS, triggers.
NAME_PATTERN = r"[a-z0-9][a-z0-9-]{0,31}"
NAME = v.pattern(NAME_PATTERN, "1 to 32 characters a-z, 0-9 and -, not starting with -")
# A camera's name is also its folder on the NAS: a Windows server (or a NAS acting as one)
# cannot make a folder with a name Windows keeps for a device.
WINDOWS_DEVICES = r"(?:con|prn|aux|nul|com[1-9]|lpt[1-9])"
CAMERA_NAME = v.pattern(rf"(?!{WINDOWS_DEVICES}$){NAME_PATTERN}",
                        "1 to 32 characters a-z, 0-9 and -, not starting with -, and not a name "
                        "Windows keeps for a device (con, prn, aux, nul, com1-9, lpt1-9): it "
                        "names the camera's folder on the NAS")
