"""The embedded engine: the compiled state machine on moto with adapters, jobs as processes.

Before the emulator is first imported, every botocore session of the process is made to
share one data loader (see botodata): importing moto alone parses EC2's service model three
times otherwise. Commands that never import the emulator import nothing for it.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _BeforeEmulator(importlib.abc.MetaPathFinder):
    """Finds nothing; shares the loader when ``moto`` is first looked for. It stays in
    ``sys.meta_path`` (removing it while the import system walks that list would skip the
    next finder)."""

    shared = False

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname == "moto" and not self.shared:
            self.shared = True
            from orchestrator.local import botodata

            botodata.share_loader()
        return None  # the module itself is found as usual


if "moto" in sys.modules:
    from orchestrator.local import botodata

    botodata.share_loader()
elif not any(isinstance(f, _BeforeEmulator) for f in sys.meta_path):
    sys.meta_path.insert(0, _BeforeEmulator())
