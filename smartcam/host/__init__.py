"""The host process: everything of one camera that touches the network and the NAS."""
