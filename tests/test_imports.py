"""Every module imports first in a fresh interpreter: no cycle hides behind import order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# One interpreter; before each module, every storefront module is forgotten, so each is
# imported first, as it would be in a fresh interpreter (third-party packages stay loaded,
# which keeps this fast and changes nothing about our import order).
PROBE = """
import importlib, pkgutil, sys, traceback
import storefront
names = ["storefront"] + [m.name for m in pkgutil.walk_packages(storefront.__path__, "storefront.")]
failed = []
for name in sorted(names):
    for loaded in [m for m in sys.modules if m == "storefront" or m.startswith("storefront.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ":\\n" + traceback.format_exc(limit=-3))
print(len(names))
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_first():
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "platform"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(done.stdout.splitlines()[0]) > 50
