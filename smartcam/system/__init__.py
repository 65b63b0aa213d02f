"""This machine as smartcam.conf wants it: the boot service's programs (`smartcam system ...`).

bootconfig.py  `smartcam system apply`: validate smartcam.conf, apply [system] and the NAS
automount.py   the NAS's systemd automount units and credentials in /run, from [storage]
machine.py     the machine being changed: files under a root, commands, what changed
"""
