"""The master: every camera of the network on one page, behind a login (DESIGN.md)."""
