"""Counts of what a reliability or security test tried and what was kept (a pytest plugin, see
tests/conftest.py).

A test reports its counts with the `counts` fixture (`detail=` adds a note in brackets):

    counts("forged", tried=200, rejected=200, stored=0)
    # prints "forged: 200 tried, 200 rejected, 0 stored"

The line is printed (shown with -s, or with the output of a failing test) and also gathered into
a section of pytest's closing summary, so CI's output shows every count without -s.
"""

import pytest

_reported = []  # (test name, line), in the order the tests ran


def counts_line(label, numbers):
    """ "label: 200 tried, 0 stored": each number before its name (underscores become spaces)."""
    parts = [f"{value} {name.replace('_', ' ')}" for name, value in numbers.items()]
    return f"{label}: {', '.join(parts)}"


@pytest.fixture
def counts(request):
    def report(label, *, detail="", **numbers):
        line = counts_line(label, numbers) + (f" ({detail})" if detail else "")
        print(line)
        _reported.append((request.node.name, line))
        return line

    return report


def pytest_terminal_summary(terminalreporter):
    if not _reported:
        return
    terminalreporter.section("reliability and security counts")
    width = min(max(len(line) for _, line in _reported), 100)
    for test_name, line in _reported:
        terminalreporter.write_line(f"{line.ljust(width)}  ({test_name})")
