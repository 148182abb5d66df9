#!/usr/bin/env python3
"""bench/capture_sql.py — the statement restable sent for one request, as a pgbench script.

Reads PostgreSQL's log (written with log_min_duration_statement = 0) from a byte offset, finds
the last `execute` entry whose SQL contains MARKER, and prints that SQL with its logged
parameters written in as the literals PostgreSQL logged ($1 = 'x' → 'x'), so pgbench runs
exactly what restable ran: same text, same casts, same values.

    bench/capture_sql.py LOG OFFSET MARKER > statement.sql
"""
import re
import sys

EXECUTE = re.compile(r"\bexecute [^:]*: (.*)$")
PARAMETERS = re.compile(r"\bDETAIL:\s+[Pp]arameters: (.*)$")
ONE_PARAMETER = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")
PLACEHOLDER = re.compile(r"\$(\d+)\b")


def last_execution(lines, marker):
    """(sql, {number: literal}) of the last execute line holding marker, or None."""
    found = None
    for index, line in enumerate(lines):
        match = EXECUTE.search(line)
        if not match or marker not in match.group(1):
            continue
        values = {}
        if index + 1 < len(lines):
            detail = PARAMETERS.search(lines[index + 1])
            if detail:
                values = {int(n): literal for n, literal in ONE_PARAMETER.findall(detail.group(1))}
        found = (match.group(1), values)
    return found


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: capture_sql.py LOG OFFSET MARKER")
    log, offset, marker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(log, "rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode("utf-8", "replace").splitlines()
    found = last_execution(lines, marker)
    if not found:
        sys.exit(f"capture_sql.py: no statement with {marker!r} in {log} after byte {offset}")
    sql, values = found
    missing = sorted({int(n) for n in PLACEHOLDER.findall(sql)} - set(values))
    if missing:
        sys.exit(f"capture_sql.py: parameters {missing} of the statement were not logged")
    print(PLACEHOLDER.sub(lambda m: values[int(m.group(1))], sql) + ";")


if __name__ == "__main__":
    main()
