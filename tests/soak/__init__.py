"""The soak: an accelerated day of faults on three cameras, reckoned clip by clip at the end.

    make soak                                   # 30 minutes; the JSON report on stdout
    make soak MINUTES=120
    .venv/bin/python -m tests.soak --minutes 5 --seed 7 --keep /var/tmp/soak

stage.py builds the filesystems (a NAS on a loop device, tmpfs spools, steppable clocks),
run.py the site and its watchers, faults.py breaks things, reconcile.py judges. A short soak
(one round of every fault) runs in `make test` (test_soak.py). Root only.
"""
