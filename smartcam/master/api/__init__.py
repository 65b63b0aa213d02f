"""The master's JSON API under /api/ and the share links under /s/: one module per group of
routes, each an `add_<group>_routes(app, master)`; base.py is the edge they share."""
