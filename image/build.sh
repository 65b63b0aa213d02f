#!/bin/bash
# Build the smartcam SD image with pi-gen: Raspberry Pi OS Lite (arm64) plus playbooks/image.yml.
# Needs root, internet (pi-gen fetches from archive.raspberrypi.com and deb.debian.org), and a
# Debian or Ubuntu host with pi-gen's dependencies (its build.sh names any that are missing).
#
#   sudo image/build.sh            # or: sudo make image
#
# Output in build/image/: smartcam-<date>.img.xz (+ .info), and smartcam-os-list.json, with
# which Raspberry Pi Imager offers the image with its settings dialog (rpi-imager --repo ...).
# Environment: SMARTCAM_IMAGE_WORK (pi-gen's checkout and work tree; several GB; default
# /var/tmp/smartcam-image), SMARTCAM_IMAGE_URL (where the image will be downloaded from, for
# the OS list; default: the local file).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${SMARTCAM_IMAGE_WORK:-/var/tmp/smartcam-image}
DEPLOY=$REPO/build/image
VENV=$WORK/venv
PYTHON=$VENV/bin/python
# shellcheck source-path=SCRIPTDIR source=pi-gen.ref
. "$REPO/image/pi-gen.ref"

die() { echo "image/build.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "pi-gen needs root: run sudo $0"
command -v git >/dev/null || die "git is missing: apt-get install git"
grep -q '^FIRST_USER_NAME=smartcam$' "$REPO/image/config" &&
	die "image/config: FIRST_USER_NAME must not be smartcam, the camera's service user"

# pi-gen at the pinned commit, and only the stages we want exported.
if [ ! -d "$WORK/pi-gen/.git" ]; then
	git clone --branch "$PIGEN_BRANCH" "$PIGEN_REPO" "$WORK/pi-gen"
fi
git -C "$WORK/pi-gen" fetch --quiet origin "$PIGEN_BRANCH"
git -C "$WORK/pi-gen" checkout --quiet --force "$PIGEN_COMMIT"
touch "$WORK/pi-gen/stage2/SKIP_IMAGES"

# Ansible (its community.general collection has the chroot connection), in a venv of its own.
if [ ! -x "$VENV/bin/ansible-playbook" ]; then
	python3 -m venv "$VENV" || die "python3 -m venv failed: apt-get install python3-venv"
	"$VENV/bin/pip" install --quiet "ansible>=10"
fi

# The smartcam package, installed into the image by the smartcam_app role.
mkdir -p "$DEPLOY/dist"
rm -f "$DEPLOY"/dist/smartcam-*.whl
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$DEPLOY/dist" "$REPO"
SMARTCAM_WHEEL=$(find "$DEPLOY/dist" -name "smartcam-*.whl")

export SMARTCAM_REPO=$REPO SMARTCAM_WHEEL SMARTCAM_DEPLOY=$DEPLOY
SMARTCAM_ANSIBLE=$VENV/bin/ansible-playbook
export SMARTCAM_ANSIBLE
export WORK_DIR=$WORK/work
cd "$WORK/pi-gen"
./build.sh -c "$REPO/image/config"

image=$(find "$DEPLOY" -maxdepth 1 -name "smartcam-*.img.xz" -printf "%T@ %p\n" | sort -n | tail -n1 | cut -d" " -f2-)
"$PYTHON" "$REPO/image/os_list.py" "$image" ${SMARTCAM_IMAGE_URL:+--url "$SMARTCAM_IMAGE_URL"} \
	>"$DEPLOY/smartcam-os-list.json"
echo "built $image and $DEPLOY/smartcam-os-list.json"
