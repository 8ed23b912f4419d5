"""CONTINUUM on Cloudflare Python Workers: the wiring behind `wrangler/src/worker.py`.

Everything here imports under CPython (unit tests); only the functions that touch
JavaScript objects import `js`/`pyodide`, and only when they run inside Pyodide.
"""
