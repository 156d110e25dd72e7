"""A Dockerfile split into instructions as BuildKit's parser splits it, and its word rules.

Two readers need the same answer to "which instructions does this file hold": the synth-time
check of a service's own Dockerfile (modules/config/service_code.py) and the docker stand-in of
the local apply (devtools/fake_docker.py). A line that one of them read differently from docker
would pass a check that the real build fails, or the reverse, so both read through this module.

What it follows, as docker does:
- parser directives (`# escape=`, `# syntax=`, `# check=`) only before anything else, each once;
- the escape character (a backslash, or the backtick `# escape=` may name) ending a line
  continues it; comments and blank lines inside a continuation are dropped, indentation kept;
- heredocs (`RUN <<EOF` ... `EOF`) of RUN, COPY and ADD: their lines are a body, not
  instructions;
- keywords in any case; a trailing continuation at the end of the file ends the instruction.

Pure functions on text: nothing here reads files or knows what an instruction means.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

DEFAULT_ESCAPE = "\\"
ESCAPE_CHARACTERS = ("\\", "`")
DIRECTIVES = frozenset({"syntax", "escape", "check"})
KEYWORDS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
HEREDOC_KEYWORDS = frozenset({"ADD", "COPY", "RUN"})
# ADD also takes URLs and git repositories: sources that are not in the build context.
REMOTE_SOURCE = re.compile(r"[a-z][a-z0-9+.-]*://|git@")

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*", re.ASCII)
_KEYWORD_SEPARATOR = re.compile(r"[\t\v\f\r ]+")
# One shell word with its quotes and escapes kept, as BuildKit reads a line for heredocs.
_RAW_WORD = re.compile(r"""(?:[^\s"'\\]|\\.?|"(?:[^"\\]|\\.)*"?|'[^']*'?)+""", re.S)
_HEREDOC = re.compile(r"(\d*)<<(-?)([^<]*)")
_QUOTED = re.compile(r""""((?:[^"\\]|\\.)*)"?|'([^']*)'?|\\(.?)""", re.S)
_FLAG = re.compile(r"""--(?P<name>[^\s="']+)(?:=(?P<value>(?:[^\s"']|"[^"]*"|'[^']*')*))?""")


class DockerfileSyntaxError(ValueError):
    """What docker's parser refuses; `line` is the instruction's first line, when there is one."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        super().__init__(reason if line is None else f"dockerfile line {line}: {reason}")


@dataclass(frozen=True)
class Heredoc:
    name: str  # the terminator word, quotes removed
    body: str  # the lines between, each ending with a newline


@dataclass(frozen=True)
class Instruction:
    line: int  # where it starts, counting from 1
    keyword: str  # upper case, whatever the file's case
    arguments: str  # everything after the keyword, flags included, continuation lines joined
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True)
class Dockerfile:
    directives: Mapping[str, str]  # by lower-case name: syntax, escape, check
    instructions: tuple[Instruction, ...]

    @property
    def escape(self) -> str:
        return self.directives.get("escape", DEFAULT_ESCAPE)


def parse(text: str) -> Dockerfile:
    """The directives and instructions of a Dockerfile; DockerfileSyntaxError for what docker
    refuses while splitting (a bad or repeated directive, an unterminated heredoc)."""
    lines = _Lines(text)
    directives = _directives(lines)
    escape = directives.get("escape", DEFAULT_ESCAPE)
    found: list[Instruction] = []
    for number, raw in lines:
        joined = _logical_line(raw.lstrip(), lines, escape)
        if joined is not None:
            found.append(_instruction(number, joined, lines))
    return Dockerfile(directives, tuple(found))


class _Lines:
    """The file's lines with their numbers, read once, front to back (BuildKit's scanner: a
    byte-order mark dropped, lines split at \\n, a \\r before it dropped)."""

    def __init__(self, text: str) -> None:
        lines = text.removeprefix("\ufeff").split("\n")
        if lines[-1] == "":
            lines.pop()
        self._lines = [line.removesuffix("\r") for line in lines]
        self.position = 0  # the index of the line to read next

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return self

    def __next__(self) -> tuple[int, str]:
        if self.position >= len(self._lines):
            raise StopIteration
        self.position += 1
        return self.position, self._lines[self.position - 1]

    def peek(self) -> str | None:
        return self._lines[self.position] if self.position < len(self._lines) else None


def _directives(lines: _Lines) -> dict[str, str]:
    """The parser directives at the top; the first line that is not one (an instruction, a
    blank line, any other comment, an unknown directive) ends them and stays to be read."""
    found: dict[str, str] = {}
    while (line := lines.peek()) is not None:
        match = _DIRECTIVE.fullmatch(line.lstrip())
        name = match[1].lower() if match else None
        if match is None or name not in DIRECTIVES:
            break
        number, _ = next(lines)
        if name in found:
            raise DockerfileSyntaxError(f"only one {name} parser directive can be used", number)
        if name == "escape" and match[2] not in ESCAPE_CHARACTERS:
            raise DockerfileSyntaxError(
                f"invalid escape token '{match[2]}' does not match ` or \\", number
            )
        found[name] = match[2]
    return found


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _logical_line(first: str, lines: _Lines, escape: str) -> str | None:
    """`first` and its continuation lines joined; None for a comment or a blank line."""
    if _is_comment(first):
        return None
    joined, continued = _without_continuation(first, escape)
    if not continued and not joined:
        return None
    while continued:
        try:
            _, raw = next(lines)
        except StopIteration:  # an escape on the last line ends the instruction
            break
        if _is_comment(raw) or not raw.strip():
            continue  # docker drops them inside a continuation (it warns about blank ones)
        part, continued = _without_continuation(raw, escape)
        joined += part
    return joined


@functools.cache
def _continuation(escape: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(escape)}[ \t]*\Z")


def _without_continuation(line: str, escape: str) -> tuple[str, bool]:
    """The line without a final escape character, and whether it had one (it continues)."""
    trimmed, count = _continuation(escape).subn("", line)
    return trimmed, count > 0


def _instruction(line: int, joined: str, lines: _Lines) -> Instruction:
    keyword, *rest = _KEYWORD_SEPARATOR.split(joined.strip(), maxsplit=1)
    instruction = Instruction(line, keyword.upper(), rest[0].strip() if rest else "")
    names = _heredoc_names(instruction, joined)
    if not names:
        return instruction
    heredocs = tuple(_heredoc(name, chomp, line, lines) for name, chomp in names)
    return replace(instruction, heredocs=heredocs)


def _heredoc_names(instruction: Instruction, joined: str) -> list[tuple[str, bool]]:
    """(terminator, strip leading tabs) of each `<<WORD` or `<<-WORD` of a RUN, COPY or ADD
    (also after ONBUILD) in shell form."""
    keyword, arguments = instruction.keyword, instruction.arguments
    if keyword == "ONBUILD":
        keyword, _, arguments = arguments.partition(" ")
        keyword = keyword.upper()
    if keyword not in HEREDOC_KEYWORDS or "<<" not in joined:
        return []
    if json_list(split_flags(arguments)[1]) is not None:
        return []
    names = []
    for word in _RAW_WORD.findall(joined):
        match = _HEREDOC.fullmatch(word)
        name = unquoted(match[3]) if match else ""
        if match and name:
            names.append((name, match[2] == "-"))
    return names


def _heredoc(name: str, chomp: bool, start: int, lines: _Lines) -> Heredoc:
    body: list[str] = []
    for _, raw in lines:
        if (raw.lstrip("\t") if chomp else raw) == name:
            return Heredoc(name, "".join(body))
        body.append(f"{raw}\n")
    raise DockerfileSyntaxError(f"unterminated heredoc: no line {name!r} ends it", start)


def unquoted(word: str) -> str:
    """A shell word without its quotes and backslash escapes."""
    return _QUOTED.sub(lambda match: next(g for g in match.groups() if g is not None), word)


# --- Arguments ---------------------------------------------------------------------------------


def json_list(arguments: str) -> list[str] | None:
    """The exec (JSON) form's list, or None for the shell form, as docker decides."""
    if not arguments.startswith("["):
        return None
    try:
        value = json.loads(arguments)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


@dataclass(frozen=True)
class Flag:
    name: str  # without the leading --
    value: str | None  # quotes removed; None for a bare --name


def split_flags(arguments: str) -> tuple[list[Flag], str]:
    """The leading `--name[=value]` flags of an instruction (COPY --from=..., FROM
    --platform=...) and the arguments after them; a lone `--` ends the flags."""
    flags: list[Flag] = []
    rest = arguments.lstrip()
    while rest.startswith("--"):
        if rest == "--" or rest[2:3].isspace():
            return flags, rest[2:].lstrip()
        match = _FLAG.match(rest)
        if match is None or not (rest[match.end() :][:1].isspace() or match.end() == len(rest)):
            break
        value = match["value"]
        flags.append(Flag(match["name"], None if value is None else unquoted(value)))
        rest = rest[match.end() :].lstrip()
    return flags, rest


def is_remote_source(source: str) -> bool:
    """An ADD source that is a URL or a git repository, not a path in the build context."""
    return REMOTE_SOURCE.match(source) is not None


# --- Words and variables -----------------------------------------------------------------------

_VARIABLE = (
    r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?::(?P<op>[-+])(?P<word>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_]\w*))"
)


@functools.cache
def _token_pattern(escape: str) -> re.Pattern[str]:
    esc = re.escape(escape)
    return re.compile(
        rf"(?P<space>\s+)|'(?P<single>[^']*)'|\"(?P<double>(?:[^\"{esc}]|{esc}.)*)\""
        rf"|{esc}(?P<escaped>.)|(?P<variable>{_VARIABLE})|(?P<other>[^\s'\"{esc}$]+|\$)"
        r"|(?P<bad>.)",
        re.S,
    )


def words(text: str, variables: Mapping[str, str], escape: str = DEFAULT_ESCAPE) -> list[str]:
    """Split as Dockerfile instructions do: quotes group, the escape character quotes the next
    character, and $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternative} expand outside single
    quotes (an unset variable is empty)."""
    result: list[str] = []
    current: list[str] | None = None  # None: between words ("" is a word)
    for token in _token_pattern(escape).finditer(text):
        if token.lastgroup == "space":
            if current is not None:
                result.append("".join(current))
            current = None
            continue
        current = current if current is not None else []
        current.append(_token_value(token, variables, escape))
    if current is not None:
        result.append("".join(current))
    return result


def _token_value(token: re.Match[str], variables: Mapping[str, str], escape: str) -> str:
    kind = token.lastgroup
    if kind == "bad":
        raise DockerfileSyntaxError(f"unterminated quote or escape in {token.string!r}")
    if kind == "double":
        return expand(token["double"], variables, escape)
    if kind == "variable":
        return _substitute(token, variables, escape)
    return token[kind or "other"]


def expand(text: str, variables: Mapping[str, str], escape: str = DEFAULT_ESCAPE) -> str:
    """Variables and escapes in text without word splitting (inside double quotes)."""
    pattern = rf"{re.escape(escape)}(?P<escaped>.)|{_VARIABLE}"
    return re.sub(
        pattern,
        lambda match: match["escaped"] or _substitute(match, variables, escape),
        text,
        flags=re.S,
    )


def _substitute(match: re.Match[str], variables: Mapping[str, str], escape: str) -> str:
    value = variables.get(match["braced"] or match["plain"], "")
    if match["op"] == "-":
        return value or expand(match["word"], variables, escape)
    if match["op"] == "+":
        return expand(match["word"], variables, escape) if value else ""
    return value
