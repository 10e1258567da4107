"""Server-drawn SVG charts: the numbers placed, the colours left to CSS classes (the CSP allows
no inline style), each with a text alternative."""

from dataclasses import dataclass

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CELL = 22  # px of the square of one hour of one weekday
LEFT = 40  # room for the weekday names
TOP = 18  # room for the hours
LEVELS = 5  # heat-1 … heat-5 (heat-0: none)


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    level: int
    count: int
    label: str


@dataclass(frozen=True)
class HeatMap:
    width: int
    height: int
    cells: list
    hours: list  # [(x, "00"), …] every third hour
    days: list  # [(y, "Mon"), …]
    total: int
    peak: int
    rows: list  # [(weekday, [24 counts])] for the table alternative


def heat_map(grid):
    peak = max((count for row in grid for count in row), default=0)
    cells = []
    for day, row in enumerate(grid):
        for hour, count in enumerate(row):
            level = 0 if not count else 1 + (count * LEVELS - 1) // peak
            cells.append(
                Cell(
                    x=LEFT + hour * CELL,
                    y=TOP + day * CELL,
                    level=level,
                    count=count,
                    label=f"{WEEKDAYS[day]} {hour:02d}:00: {count}",
                )
            )
    return HeatMap(
        width=LEFT + 24 * CELL,
        height=TOP + 7 * CELL,
        cells=cells,
        hours=[(LEFT + hour * CELL + CELL // 2, f"{hour:02d}") for hour in range(0, 24, 3)],
        days=[(TOP + day * CELL + CELL // 2 + 4, name) for day, name in enumerate(WEEKDAYS)],
        total=sum(map(sum, grid)),
        peak=peak,
        rows=list(zip(WEEKDAYS, grid, strict=True)),
    )


def duration(seconds):
    """4 h 05 min, 3 min 20 s, 3 min, 45 s; an em dash for none."""
    if seconds is None:
        return "\u2014"
    seconds = int(seconds)
    if seconds >= 86400:
        return f"{seconds // 86400} d {seconds % 86400 // 3600} h"
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    return f"{seconds} s"
