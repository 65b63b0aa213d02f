"""The camera process's control socket: JSON lines both ways (the server runs in the camera, the
client in the host)."""
