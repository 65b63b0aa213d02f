"""The Debian arm64 stand-in for the SD image: what pi-gen makes, from what this machine reaches.

pi-gen needs the Raspberry Pi archive; this needs only Debian's. Two cached layers, each built
atomically (a killed build leaves none) under ``$SMARTCAM_CACHE/standin/``:

  base-<key>    mmdebstrap of Debian 12 arm64 (under qemu-user) with Debian's arm64 kernel, every
                package the roles install, and what pi-gen's stages 0-2 give a Pi that a
                ``-M virt`` machine needs in their place: fstab by label (bootfs, rootfs),
                systemd-networkd on the virtio links, SSH switched off, no host keys, no
                machine id. Keyed by the suite, packages, hooks and the code that builds it.
  image-<key>   the base made a smartcam by pi-gen's own stage script of ours
                (image/stage-smartcam: ``playbooks/image.yml`` through the chroot connection).
                Keyed by the base, the stage, the roles, the playbooks, the package's source
                and the wheelhouse.

    python -m tests.image.standin        # build (or find) both and print the image tree's path
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.roles import ansible, package, rootfs

REPO = Path(__file__).resolve().parents[2]
STAGE_SCRIPT = REPO / "image" / "stage-smartcam" / "00-smartcam" / "00-run.sh"
SUITE = rootfs.SUITE
ARCH = "arm64"
# The test rootfs's packages (those the roles install), a kernel and what boots it.
PACKAGES = (
    *rootfs.PACKAGES,
    "linux-image-arm64",
    "initramfs-tools",
    "udev",
    "kmod",
    "dosfstools",  # fsck.vfat for the boot partition, as on the Pi
    "e2fsprogs",
    "util-linux",  # wdctl
)
# The initramfs of the virt machine's disk only: MODULES=most takes minutes under emulation.
INITRAMFS_MODULES = ("virtio_pci", "virtio_blk", "virtio_net", "ext4", "vfat")
ESSENTIAL = (
    'mkdir -p "$1"/etc/initramfs-tools/conf.d',
    'echo MODULES=list > "$1"/etc/initramfs-tools/conf.d/smartcam-standin',
    "printf '%s\\n' " + " ".join(INITRAMFS_MODULES) + ' >> "$1"/etc/initramfs-tools/modules',
)
NETWORK = {
    # qemu's user network (the test host's forwarded ports), as a Pi's LAN with DHCP.
    "10-lan.network": "[Match]\nName=enp0s3\n\n[Network]\nDHCP=ipv4\nLinkLocalAddressing=no\n",
    # The cameras' own link (two guests): zeroconf addresses, as two Pis on one switch get.
    "20-peers.network": "[Match]\nName=enp0s4\n\n[Network]\nLinkLocalAddressing=ipv4\n",
}
FSTAB = (
    "LABEL=rootfs  /               ext4  defaults,noatime  0  1\n"
    "LABEL=bootfs  /boot/firmware  vfat  defaults          0  2\n"
)
CUSTOMIZE = (
    f"printf '{FSTAB}' > \"$1\"/etc/fstab",
    *(
        f"printf '{text}' > \"$1\"/etc/systemd/network/{name}"
        for name, text in NETWORK.items()
    ),
    'chroot "$1" systemctl enable systemd-networkd.service',
    # pi-gen's TARGET_HOSTNAME; smartcam.conf renames it.
    'echo smartcam > "$1"/etc/hostname',
    # No console logins; SSH off until smartcam.conf gives keys (pi-gen's ENABLE_SSH=0); host
    # keys and machine id made at first boot, as pi-gen's export leaves them.
    'chroot "$1" systemctl mask getty@tty1.service serial-getty@ttyAMA0.service',
    'chroot "$1" systemctl disable ssh.service',
    'rm -f "$1"/etc/ssh/ssh_host_*',
    "printf '[Unit]\\nBefore=ssh.service\\nConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\\n"
    "[Service]\\nType=oneshot\\nExecStart=/usr/bin/ssh-keygen -A\\n"
    "[Install]\\nWantedBy=ssh.service\\n' > \"$1\"/etc/systemd/system/ssh-hostkeys.service",
    'chroot "$1" systemctl enable ssh-hostkeys.service',
    'echo uninitialized > "$1"/etc/machine-id',
    'mkdir -p "$1"/boot/firmware',
)


def cache() -> Path:
    return rootfs.cache_root().parent / "standin"


def _hash(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update((part if isinstance(part, bytes) else part.encode()) + b"\0")
    return h.hexdigest()[:16]


def base_key() -> str:
    """Its inputs: the suite, sources, packages, hooks and the code that builds it."""
    return _hash(
        SUITE, ARCH, *rootfs.SOURCES, *sorted(PACKAGES), *ESSENTIAL, *CUSTOMIZE,
        inspect.getsource(build_base),
    )  # fmt: skip


def _tree_hash(*dirs: Path) -> bytes:
    h = hashlib.sha256()
    for d in dirs:
        for p in sorted(d.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(REPO)).encode() + b"\0" + p.read_bytes())
    return h.digest()


def image_key(wheelhouse: Path) -> str:
    """The base, what the playbook runs and what it installs (the package's source, not its
    wheel, whose build stamps it)."""
    return _hash(
        base_key(),
        _tree_hash(REPO / "roles", REPO / "playbooks", REPO / "smartcam", STAGE_SCRIPT.parent),
        (REPO / "pyproject.toml").read_bytes(),
        (REPO / "smartcam.conf.example").read_bytes(),
        wheelhouse.name,
    )


def qemu_user_ready() -> str | None:
    """Why arm64 programs cannot run here, or None (registers qemu-user's binfmt if need be)."""
    handler = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not handler.exists():
        if not Path("/proc/sys/fs/binfmt_misc/register").exists():
            subprocess.run(
                ["mount", "-t", "binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc"],
                capture_output=True,
            )
        conf = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
        if conf.exists():
            subprocess.run(["/lib/systemd/systemd-binfmt", str(conf)], capture_output=True)
    if not handler.exists():
        return "arm64 binaries do not run here: apt-get install qemu-user-static (binfmt_misc)"
    return None


def _atomic(target: Path, make) -> Path:
    """Build `target` (a directory) with make(tmp_tree) unless it is there; keep one key."""
    if (target / "tree" / "etc" / "os-release").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
    try:
        make(tmp)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    prefix = target.name.split("-")[0]
    for old in target.parent.glob(f"{prefix}-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def build_base(log=sys.stderr) -> Path:
    def make(tmp: Path) -> None:
        cmd = [
            "mmdebstrap",
            "--variant=apt",
            "--mode=root",
            "--format=directory",
            f"--architectures={ARCH}",
            "--include=" + ",".join(PACKAGES),
            *(f"--essential-hook={hook}" for hook in ESSENTIAL),
            *(f"--customize-hook={hook}" for hook in CUSTOMIZE),
            SUITE,
            str(tmp / "tree"),
            *rootfs.SOURCES,
        ]
        print("building the arm64 stand-in (a few minutes):", tmp, file=log, flush=True)
        subprocess.run(cmd, check=True, stdout=log, stderr=log)

    return _atomic(cache() / f"base-{base_key()}", make)


def build_image(wheel: Path, wheelhouse: Path, scratch: Path, log=sys.stderr) -> Path:
    """The stand-in made a smartcam by playbooks/image.yml (chroot, under qemu-user)."""
    base = build_base(log)

    def make(tmp: Path) -> None:
        print("converging the arm64 stand-in with pi-gen's stage script", file=log, flush=True)
        subprocess.run(["cp", "-a", str(base / "tree"), str(tmp / "tree")], check=True)
        values = ansible.write_vars(
            scratch,
            "standin-vars",
            {
                "smartcam_app_wheelhouse": str(wheelhouse),
                "smartcam_base_apt_update": False,  # the base has every package already
            },
        )
        env = {
            **ansible.env(scratch),
            "ROOTFS_DIR": str(tmp / "tree"),
            "SMARTCAM_REPO": str(REPO),
            "SMARTCAM_WHEEL": str(wheel),
            "SMARTCAM_ANSIBLE": str(ansible.BIN / "ansible-playbook"),
            "SMARTCAM_RASPBERRY_PI": "false",  # a Debian stand-in: no picamera2
            "SMARTCAM_EXTRA_VARS": f"@{values}",
        }
        # pi-gen's on_chroot mounts the kernel's file systems; the roles need none of them.
        script = 'on_chroot() { :; }; export -f on_chroot; exec "$0"'
        done = subprocess.run(
            ["bash", "-c", script, str(STAGE_SCRIPT)],
            env=env, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        (tmp / "converge.log").write_text(done.stdout + done.stderr)
        if done.returncode:
            raise AssertionError(f"{STAGE_SCRIPT} failed:\n{(done.stdout + done.stderr)[-6000:]}")

    return _atomic(cache() / f"image-{image_key(wheelhouse)}", make)


def kernel(tree: Path) -> tuple[Path, Path]:
    """The stand-in's kernel and initramfs (Debian's, in /boot)."""
    (vmlinuz,) = sorted((tree / "boot").glob("vmlinuz-*"))[-1:]
    initrd = tree / "boot" / vmlinuz.name.replace("vmlinuz", "initrd.img")
    return vmlinuz, initrd


def wheelhouse() -> Path:
    return package.wheelhouse(platform=ARCH)


if __name__ == "__main__":
    reason = qemu_user_ready()
    if reason:
        sys.exit(reason)
    scratch = Path(tempfile.mkdtemp(prefix="smartcam-standin-", dir="/var/tmp"))
    (scratch / "ansible-tmp").mkdir()
    wheel = package.build(scratch / "dist")
    print(json.dumps({"image": str(build_image(wheel, wheelhouse(), scratch))}))
