"""Tests of the Ansible roles and playbooks: lint, the boot program, booted machines."""
