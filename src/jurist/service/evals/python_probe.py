"""Which protections a grade gets on this machine: one probe child (set up exactly as for a grade, then
it reports and exits without running anything), run synchronously, for ``jurist doctor`` and start-up
checks rather than the event loop."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

from jurist.service.evals.python_outcome import json_object

# What a probe found: the active protections, and each unavailable one with why ("sandbox": why the
# probe itself failed).
Protections = tuple[list[str], dict[str, str]]


def run_probe(command: list[str], request: bytes, timeout: float) -> Protections:
    """Start the child with ``command`` in a fresh empty temp dir, as a grade would, and read its report."""
    workdir = tempfile.mkdtemp(prefix="jurist-grader-")
    try:
        done = subprocess.run(
            command,
            input=request,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            cwd=workdir,
            start_new_session=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return [], {"sandbox": f"the probe failed: {exc}"}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    header = json_object(done.stdout.split(b"\n")[0])
    if header is None:
        return [], {"sandbox": f"the probe failed (exit status {done.returncode})"}
    if "setup_error" in header:
        return [], {"sandbox": f"the probe failed: {header['setup_error']}"}
    active = header.get("protections")
    why = header.get("unavailable")
    return (
        [p for p in active if isinstance(p, str)] if isinstance(active, list) else [],
        {str(k): str(v) for k, v in why.items()} if isinstance(why, dict) else {},
    )
