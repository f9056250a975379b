"""Write a set of output files atomically: each file appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from rscctl.errors import UserError

Files = dict[str, bytes]


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_files(out_dir: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write every file under out_dir (all rendered before the first write)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot create the output directory ({exc.strerror})") from None
    written = []
    for rel in sorted(files):
        target = out_dir / rel
        try:
            write_atomic(target, files[rel])
        except OSError as exc:
            raise UserError(f"{target}: cannot write ({exc.strerror})") from None
        written.append(target)
    return written
