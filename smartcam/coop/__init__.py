"""Cooperation: the peer table, mDNS, the NAS notes and signed group triggers; worker.py wires
them for the host."""
