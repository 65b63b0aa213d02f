"""The clip contract: the names the camera writes, the sidecar, and the library of clips that
the host serves and the master reads."""
