"""`smartcam demo`: a simulated fleet on this machine, and the real footage it plays."""
