#!/bin/bash -e
# On the build host: make a smartcam of pi-gen's root filesystem with the same roles as fleet
# updates (playbooks/image.yml through Ansible's chroot connection, in image build mode:
# files written, units enabled, nothing started). The tests build the Debian stand-in with this
# same script (tests/image/standin.py).
#
# on_chroot mounts /proc, /sys, /dev, /run and /tmp in the tree and leaves them for the
# playbook's modules; pi-gen unmounts them at the end of the stage. The tree is not yet marked
# as Raspberry Pi OS (/etc/rpi-issue comes at export) and its /proc/device-tree is the build
# host's, so the playbook is told that this is a Pi: picamera2 and simplejpeg from apt.
on_chroot true
extra=()
if [ -n "${SMARTCAM_EXTRA_VARS:-}" ]; then
	extra=(-e "${SMARTCAM_EXTRA_VARS}")
fi
ANSIBLE_PIPELINING=1 ANSIBLE_NOCOLOR=1 "${SMARTCAM_ANSIBLE:-ansible-playbook}" \
	-i "${ROOTFS_DIR}," \
	-e smartcam_app_package="${SMARTCAM_WHEEL}" \
	-e smartcam_app_raspberry_pi="${SMARTCAM_RASPBERRY_PI:-true}" \
	"${extra[@]}" \
	"${SMARTCAM_REPO}/playbooks/image.yml"
