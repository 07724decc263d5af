"""Statutory holidays by the law, for a year whose State Council notice is not out.

《全国年节及纪念日放假办法》 as amended in 2024 (State Council Decree No. 795, in
force from 2025-01-01), article 2: 元旦 1 day (1 January); 春节 4 days (除夕 to
初三); 清明节 1 day; 劳动节 2 days (1–2 May); 端午节 1 day; 中秋节 1 day; 国庆节
3 days (1–3 October). Article 6: a holiday that falls on a Saturday or Sunday is
made up by a weekday after it (补假). The lunar dates come from the `holidays`
package's China calendar (pinned in pyproject.toml), of which only the statutory
days are taken, never its own substitute or observed days: those, and the
weekdays the yearly notice swaps (调休), are the bureau's to add in calendar.yaml
when the notice comes out.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import cache

LAW_FROM = 2025  # the amended law's first year; earlier unknown years fall back to Monday–Friday
# The `holidays` package's English names of the lunar statutory days, and how many days each lasts.
LUNAR = {"Chinese New Year's Eve": 4, "Tomb-Sweeping Day": 1, "Dragon Boat Festival": 1, "Mid-Autumn Festival": 1}


@cache
def days_off(year: int) -> frozenset[date]:
    """Every statutory day off of `year`, 补假 included."""
    import holidays

    blocks = [[date(year, 1, 1)], [date(year, 5, 1), date(year, 5, 2)],
              [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)]]
    lunar = holidays.China(years=[year], language="en_US")
    for day, name in lunar.items():
        if name in LUNAR and day.year == year:  # 除夕 starts the four days of 春节
            blocks.append([day + timedelta(days=k) for k in range(LUNAR[name])])
    off = {day for block in blocks for day in block}
    for block in sorted(blocks):
        weekend = sum(day.weekday() >= 5 for day in block)
        day = block[-1]
        while weekend:  # each holiday on a weekend gives the next free weekday after the holiday
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in off:
                off.add(day)
                weekend -= 1
    return frozenset(off)
