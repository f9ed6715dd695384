"""The generated client's types under `mypy --strict`: `consumer.py` passes, and each of its
lines marked `# type: ignore[code]` is an error of that code, also once the marks are gone."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent


def mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--warn-unused-ignores", "--no-incremental", str(path)],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
    )


def test_the_consumer_type_checks_and_its_marked_lines_are_errors(tmp_path: Path) -> None:
    checked = mypy(HERE / "consumer.py")
    assert checked.returncode == 0, checked.stdout
    source = (HERE / "consumer.py").read_text()
    marks = re.findall(r"# type: ignore\[([a-z-]+)\]", source)
    assert len(marks) >= 8
    bare = tmp_path / "consumer.py"
    bare.write_text(re.sub(r"  # type: ignore\[[a-z-]+\]", "", source))
    unmarked = mypy(bare)
    errors = re.findall(r"error: .*\[([a-z-]+)\]$", unmarked.stdout, re.MULTILINE)
    assert sorted(set(errors)) == sorted(set(marks)), unmarked.stdout
    lines_with_errors = {int(n) for n in re.findall(r"consumer\.py:(\d+): error", unmarked.stdout)}
    marked_lines = {
        i + 1 for i, line in enumerate(source.splitlines()) if re.search(r"# type: ignore\[[a-z-]+\]", line)
    }
    assert lines_with_errors == marked_lines, unmarked.stdout
