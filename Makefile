# smartcam: `make demo` runs a simulated camera, `make test` runs every test.
# Both install what they need (Debian packages and a venv) and are safe to repeat.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt
# Debian packages the tests, benchmarks and demo use: ffprobe checks clips, dpkg-deb unpacks
# footage, nginx fronts the host, wrk loads it, e2fsprogs makes the loop-mounted test NAS,
# chromium (headless, through chromium-driver) opens the page, iproute2/nftables build the
# cooperation tests' namespaces, avahi (inside them) is the independent mDNS client, mmdebstrap
# and systemd-nspawn build and boot the Debian rootfs the Ansible roles are tested on, gcc builds
# the steppable wall clock (tests/stepclock.c) the clock tests and the soak preload; qemu (user
# and system, arm64), dosfstools, mtools, fdisk and Samba build, flash and boot the SD image's
# Debian stand-in against a real share (tests/image; socat carries each NAS connection),
# shellcheck checks image/'s scripts; GStreamer's RTSP server (through Debian's PyGObject, linked
# into the venv as a Pi's --system-site-packages venv sees it) is RTSP out.
# Installed with services held back (policy-rc.d): a packaged nginx must not start on :80.
APT_PACKAGES := ffmpeg dpkg nginx wrk e2fsprogs util-linux chromium chromium-driver \
	iproute2 nftables avahi-daemon avahi-utils dbus mmdebstrap systemd-container openssh-client \
	gcc libc6-dev qemu-user-static qemu-system-arm dosfstools mtools fdisk samba \
	samba-vfs-modules smbclient \
	shellcheck socat mosquitto mosquitto-clients openssl \
	python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
export SMARTCAM_CACHE ?= $(HOME)/.cache/smartcam

.PHONY: all venv deps test lint fmt bench soak soak-rig demo docs molecule image clean

all: test lint

$(APT_STAMP): Makefile
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  policy=/usr/sbin/policy-rc.d; own=; \
	  if [ ! -e $$policy ]; then own=1; printf '#!/bin/sh\nexit 101\n' > $$policy; chmod 755 $$policy; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  status=$$?; [ -z "$$own" ] || rm -f $$policy; [ $$status -eq 0 ]; \
	fi
	@mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml Makefile | $(APT_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	@# Debian's gi (its _gi module is built for Debian's python3.11; tests skip RTSP out,
	@# saying why, when this venv's Python cannot load it)
	mkdir -p $(VENV)/debian-gi && ln -sfn /usr/lib/python3/dist-packages/gi $(VENV)/debian-gi/gi
	$(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
	  | xargs -I{} sh -c 'echo "$(abspath $(VENV))/debian-gi" > {}/debian-gi.pth'
	touch $@

venv deps: $(STAMP)

# The booted-card rig (tests/image, about 25 minutes) mostly waits on its emulated guests, which
# share nothing with the other tests (their network is qemu's own, their ports are free ones): it
# runs beside them, and its report follows theirs.
test: $(STAMP)
	$(BIN)/ruff check smartcam tests roles image
	@rig=$$(mktemp); $(BIN)/pytest -p no:cacheprovider tests/image >$$rig 2>&1 & pid=$$!; \
	$(BIN)/pytest -p no:cacheprovider --ignore=tests/image; rest=$$?; \
	wait $$pid; status=$$?; echo "=== tests/image, run beside the others ==="; cat $$rig; \
	rm -f $$rig; [ $$rest -eq 0 ] && [ $$status -eq 0 ]

lint: $(STAMP)
	$(BIN)/ruff check smartcam tests roles image

fmt: $(STAMP)
	$(BIN)/ruff check --fix smartcam tests roles image

bench: $(STAMP)
	@$(BIN)/python -m tests.bench  # stdout is the JSON alone

soak: $(STAMP)  # an accelerated day of faults on three cameras; MINUTES=30 by default
	@$(BIN)/python -m tests.soak --minutes $(or $(MINUTES),30)  # stdout is the JSON alone

soak-rig: $(STAMP)  # faults on a booted card against a real Samba share; MINUTES=20 by default
	@$(BIN)/python -m tests.image.soak --minutes $(or $(MINUTES),20)

demo: $(STAMP)
	$(BIN)/smartcam demo $(if $(DURATION),--duration $(DURATION))

molecule: $(STAMP)  # the Ansible roles: lint, the booted appliance, the NAS, the fleet rollout
	$(BIN)/pytest tests/roles

image:  # the SD image with pi-gen: needs root and internet (README, "The SD image")
	bash image/build.sh

docs: $(STAMP)  # docs/config.md and smartcam.conf.example come from the config schema
	$(BIN)/python -m smartcam.config.docs

clean:
	rm -rf $(VENV) demo build *.egg-info
