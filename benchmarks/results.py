"""Writes one benchmark's table into benchmarks/RESULTS.md, with command, machine and date.

Each benchmark owns one section of RESULTS.md, delimited by
``<!-- NAME:start -->`` / ``<!-- NAME:end -->``; re-running it replaces only that section.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def cpu_description() -> str:
    """``AMD EPYC (family 25 model 1, AVX2)``: virtual machines often show only a generic
    model name, and the same name covers CPU generations whose speed differs (the
    reference model took 0.25 s/step on one "AMD EPYC" machine here, 0.62 on another)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if not line.strip():
                break
    except OSError:
        return platform.processor() or platform.machine()
    flags = set(fields.get("flags", "").split())
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    details = [f"family {fields['cpu family']} model {fields['model']}"] if "cpu family" in fields else []
    return f"{fields.get('model name', platform.machine())} ({', '.join([*details, vector])})"


def machine() -> str:
    """CPU model, core count, memory and library versions, in one line."""
    model = cpu_description()
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import keras
    import tensorflow as tf

    return (f"{model}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, title: str, body: str) -> None:
    """Replaces (or appends) the section ``name`` of RESULTS.md and prints it."""
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    section = (
        f"<!-- {name}:start -->\n## {title}\n\n"
        f"- Command: `{command}`\n- Machine: {machine()}\n"
        f"- Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"{body.strip()}\n<!-- {name}:end -->\n"
    )
    print(section)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\nEach section is written by the script it names; rerun it to update.\n\n"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)
