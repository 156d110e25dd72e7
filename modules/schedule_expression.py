"""EventBridge Scheduler's recurring schedule expressions, checked when the config is loaded.

Two forms (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
  rate(<n> <unit>)   n a whole number >= 1; unit minute|hour|day, singular exactly when n is 1
  cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)   six fields, not five:
                     EventBridge's cron has a year, and one of the two day fields must be `?`

AWS would reject a bad expression only at apply time, in the middle of a deploy; checked here,
the developer sees which field is wrong and what it allows before anything is planned.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from dataclasses import dataclass

__all__ = ["InvalidSchedule", "check_schedule", "check_timezone"]

EXAMPLES = "e.g. rate(15 minutes) or cron(0 8 * * ? *)"
RATE_UNITS = ("minute", "hour", "day")
_RATE = re.compile(r"rate\((?P<body>.*)\)", re.DOTALL)
_CRON = re.compile(r"cron\((?P<body>.*)\)", re.DOTALL)
_RANGE = re.compile(r"(?P<low>[0-9A-Z]+)(?:-(?P<high>[0-9A-Z]+))?")


# Always valid, even where the machine has no time zone database (zoneinfo then knows no names).
UTC = "UTC"


class InvalidSchedule(ValueError):
    """A schedule expression or time zone EventBridge Scheduler would not accept; says what is
    allowed."""


@dataclass(frozen=True)
class CronField:
    """One position of a cron expression: its range, its names, and the specials it allows."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names of low, low + 1, ... (JAN.., SUN..)
    question_mark: bool = False  # `?`: "no value", the day fields only
    specials: str = ""  # extra syntax, as a regex over the whole field
    specials_rule: str = ""

    @property
    def rule(self) -> str:
        named = f" or {self.names[0]}-{self.names[-1]}" if self.names else ""
        extras = ", ".join(
            part
            for part in ("? (no value)" if self.question_mark else "", self.specials_rule)
            if part
        )
        return (
            f"{self.low}-{self.high}{named}, '*', lists (a,b), ranges (a-b) and steps (*/n, a/n)"
            + (f", {extras}" if extras else "")
        )

    def value(self, text: str) -> int | None:
        if text.isdigit():
            number = int(text)
            return number if self.low <= number <= self.high else None
        if text in self.names:
            return self.low + self.names.index(text)
        return None


CRON_FIELDS = (
    CronField("minutes", 0, 59),
    CronField("hours", 0, 23),
    CronField(
        "day-of-month",
        1,
        31,
        question_mark=True,
        specials=r"L|LW|([1-9]|[12][0-9]|3[01])W",
        specials_rule="L (last day), LW (last weekday), nW (weekday nearest day n)",
    ),
    CronField(
        "month",
        1,
        12,
        names=("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    ),
    CronField(
        "day-of-week",
        1,
        7,
        names=("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"),
        question_mark=True,
        specials=r"L|[1-7]L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)#[1-5]",
        specials_rule="nL (last weekday n of the month), n#k (k-th weekday n, k 1-5)",
    ),
    CronField("year", 1970, 2199),
)
FIELD_NAMES = " ".join(field.name for field in CRON_FIELDS)


def check_schedule(expression: str) -> str:
    """`expression` if EventBridge Scheduler accepts it as a recurring schedule, else raise."""
    if rate := _RATE.fullmatch(expression):
        _check_rate(rate.group("body"))
    elif cron := _CRON.fullmatch(expression):
        _check_cron(cron.group("body"))
    else:
        raise InvalidSchedule(f"must be rate(<n> <unit>) or cron(<6 fields>), {EXAMPLES}")
    return expression


def _check_rate(body: str) -> None:
    words = body.split(" ")
    units = "/".join(f"{unit}(s)" for unit in RATE_UNITS)
    if len(words) != 2 or not words[0].isdigit() or int(words[0]) < 1 or words[0].startswith("0"):
        raise InvalidSchedule(
            f"rate(...) must hold a whole number of at least 1 and a unit ({units}), "
            "separated by one space, e.g. rate(1 hour) or rate(15 minutes)"
        )
    count, unit = int(words[0]), words[1]
    singular = unit.removesuffix("s")
    if singular not in RATE_UNITS:
        raise InvalidSchedule(f"rate(...) unit must be one of {units}, e.g. rate(15 minutes)")
    expected = singular if count == 1 else f"{singular}s"
    if unit != expected:
        number = "singular" if count == 1 else "plural"
        raise InvalidSchedule(
            f"rate(...) with {count} takes the {number} unit: rate({count} {expected})"
        )


def _check_cron(body: str) -> None:
    fields = body.split()
    if len(fields) != len(CRON_FIELDS):
        raise InvalidSchedule(
            f"cron(...) must have {len(CRON_FIELDS)} fields ({FIELD_NAMES}), found {len(fields)}; "
            "EventBridge's cron has a year field and `?` in one day field, e.g. cron(0 8 * * ? *)"
        )
    for spec, text in zip(CRON_FIELDS, fields, strict=True):
        _check_cron_field(spec, text.upper())
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise InvalidSchedule(
            "cron(...) needs `?` in exactly one of day-of-month and day-of-week (EventBridge "
            f"cannot take both); got {day_of_month!r} and {day_of_week!r}, e.g. cron(0 8 * * ? *) "
            "or cron(0 8 ? * MON-FRI *)"
        )


def _check_cron_field(spec: CronField, text: str) -> None:
    if text == "?" and spec.question_mark:
        return
    if spec.specials and re.fullmatch(spec.specials, text):
        return
    for item in text.split(","):
        if not _valid_item(spec, item):
            raise InvalidSchedule(
                f"cron(...) {spec.name}: {item!r} is not allowed; allowed: {spec.rule}"
            )


def _valid_item(spec: CronField, item: str) -> bool:
    base, slash, step = item.partition("/")
    if slash and not (step.isdigit() and 1 <= int(step) <= spec.high):
        return False
    if base == "*":
        return True
    match = _RANGE.fullmatch(base)
    if match is None:
        return False
    low = spec.value(match.group("low"))
    high = spec.value(match.group("high")) if match.group("high") is not None else low
    return low is not None and high is not None and low <= high


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone name (as EventBridge Scheduler takes), else raise."""
    if name == UTC:
        return name
    known = zoneinfo.available_timezones()
    if name in known:
        return name
    if not known:
        raise InvalidSchedule(
            f"cannot be checked: this machine has no time zone database; use {UTC}, or install "
            "the tzdata package"
        )
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise InvalidSchedule(
        f"must be an IANA time zone name such as Europe/Berlin, America/New_York or {UTC}{hint}"
    )
