"""modules/dockerfile.py: a Dockerfile split into instructions as docker's parser splits it, and
the synth-time check of a service's own Dockerfile refusing what docker would refuse to parse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from modules.config.service_code import dockerfile_problems
from modules.dockerfile import (
    DockerfileSyntaxError,
    Flag,
    Heredoc,
    Instruction,
    expand,
    json_list,
    parse,
    split_flags,
    words,
)

if TYPE_CHECKING:
    from pathlib import Path


def keywords(text: str) -> list[tuple[int, str, str]]:
    """(line, keyword, arguments) of each instruction."""
    return [(i.line, i.keyword, i.arguments) for i in parse(text).instructions]


# --- Parser directives -----------------------------------------------------------------------


def test_directives_at_the_top_are_read_in_any_case_and_spacing() -> None:
    parsed = parse("# syntax=docker/dockerfile:1\n#\tESCAPE = ` \nFROM a\n")

    assert parsed.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert parsed.escape == "`"
    assert keywords("# syntax=docker/dockerfile:1\nFROM a\n") == [(2, "FROM", "a")]


@pytest.mark.parametrize(
    "before",
    ["FROM a\n", "# a comment\n", "\n", "# unknown=directive\n"],
    ids=["instruction", "comment", "blank line", "unknown directive"],
)
def test_a_directive_after_anything_else_is_a_comment(before: str) -> None:
    # Given `# escape=`` after a line that ends the directives
    parsed = parse(f"{before}# escape=`\nFROM a\nRUN one \\\n  two\n")

    # Then the backslash still continues lines
    assert parsed.escape == "\\"
    assert parsed.instructions[-1].arguments == "one   two"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# escape=\\\n# escape=`\nFROM a\n", "line 2: only one escape parser directive"),
        ("# syntax=a\n# SYNTAX=b\nFROM a\n", "line 2: only one syntax parser directive"),
        ("# escape=x\nFROM a\n", "line 1: invalid escape token 'x' does not match ` or \\"),
    ],
)
def test_a_repeated_directive_or_another_escape_character_is_refused(
    text: str, message: str
) -> None:
    with pytest.raises(DockerfileSyntaxError, match="dockerfile " + message.replace("\\", r"\\")):
        parse(text)


# --- Continuation lines ----------------------------------------------------------------------


def test_with_the_backtick_escape_a_backtick_continues_and_a_backslash_is_text() -> None:
    text = "# escape=`\nFROM windows\nCOPY C:\\src\\ `\n    C:\\app\\\nRUN dir\n"

    assert keywords(text) == [
        (2, "FROM", "windows"),
        (3, "COPY", "C:\\src\\     C:\\app\\"),
        (5, "RUN", "dir"),
    ]


def test_comments_and_blank_lines_inside_a_continuation_are_dropped() -> None:
    text = "FROM a\nRUN apt-get update \\\n# why the next line\n\n   \\\n    && install x  \\ \t\n"
    text += "  # another\n    && clean\nUSER 1\n"

    assert keywords(text) == [
        (1, "FROM", "a"),
        # indentation kept, as docker keeps it; the escape and the blanks after it dropped
        (2, "RUN", "apt-get update        && install x      && clean"),
        (9, "USER", "1"),
    ]


def test_a_continuation_on_the_last_line_ends_the_instruction() -> None:
    assert keywords('FROM a\nCMD ["x"] \\') == [(1, "FROM", "a"), (2, "CMD", '["x"]')]
    assert keywords("FROM a\nRUN x \\\n\n# only a comment after it\n") == [
        (1, "FROM", "a"),
        (2, "RUN", "x"),
    ]


def test_windows_line_endings_and_a_byte_order_mark_change_nothing() -> None:
    text = "\ufeff# escape=`\r\nFROM a\r\nRUN x `\r\n  y\r\n"

    assert parse(text).escape == "`"
    assert keywords(text) == [(2, "FROM", "a"), (3, "RUN", "x   y")]


def test_keywords_are_upper_cased_and_arguments_kept() -> None:
    text = 'from python:3.11 As build\n  run  echo "Hi  there"\nEntryPoint ["python"]\n'

    assert keywords(text) == [
        (1, "FROM", "python:3.11 As build"),
        (2, "RUN", 'echo "Hi  there"'),
        (3, "ENTRYPOINT", '["python"]'),
    ]


# --- Exec form, flags, words -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('["python", "-m", "workers.runtime"]', ["python", "-m", "workers.runtime"]),
        ("[]", []),
        ("python -m workers.runtime", None),
        ("[python, -m]", None),  # not JSON: docker runs it through the shell
        ('["python", 1]', None),
        ('{"a": "b"}', None),
    ],
)
def test_the_exec_form_is_a_json_list_of_strings(
    arguments: str, expected: list[str] | None
) -> None:
    assert json_list(arguments) == expected


def test_flags_come_before_the_arguments_and_a_lone_double_dash_ends_them() -> None:
    assert split_flags('--from=build --chown="app user" --link /src /dst') == (
        [Flag("from", "build"), Flag("chown", "app user"), Flag("link", None)],
        "/src /dst",
    )
    assert split_flags("-- --not-a-flag /dst") == ([], "--not-a-flag /dst")
    assert split_flags('["a", "--b"]') == ([], '["a", "--b"]')


def test_words_group_quotes_and_expand_variables_outside_single_quotes() -> None:
    variables = {"SERVICE": "consumer"}

    assert words("a=\"x y\" b='$SERVICE' ${SERVICE}/ ${NONE:-d}", variables) == [
        "a=x y",
        "b=$SERVICE",
        "consumer/",
        "d",
    ]
    assert expand("${SERVICE}/`$x", variables, escape="`") == "consumer/$x"
    with pytest.raises(DockerfileSyntaxError, match="unterminated quote"):
        words('"open', variables)


# --- Heredocs --------------------------------------------------------------------------------


def test_a_heredoc_body_is_not_read_as_instructions() -> None:
    text = 'FROM a\nRUN <<EOF bash -e\nFROM nope\nCOPY x y\nEOF\nCMD ["x"]\n'

    instructions = parse(text).instructions

    assert instructions == (
        Instruction(1, "FROM", "a"),
        Instruction(2, "RUN", "<<EOF bash -e", (Heredoc("EOF", "FROM nope\nCOPY x y\n"),)),
        Instruction(6, "CMD", '["x"]'),
    )


def test_heredocs_quoted_tab_stripped_and_several_on_one_line() -> None:
    text = 'FROM a\nCOPY <<\'ONE\' <<-"TWO" /dst/\n1\nONE\n2\n\t\tTWO\nRUN ["<<X"]\n'

    copy, run = parse(text).instructions[1:]

    assert copy.heredocs == (Heredoc("ONE", "1\n"), Heredoc("TWO", "2\n"))
    assert run.heredocs == ()  # the exec form has no heredocs


def test_an_unterminated_heredoc_is_refused_at_its_instruction() -> None:
    with pytest.raises(DockerfileSyntaxError, match="dockerfile line 2: unterminated heredoc"):
        parse("FROM a\nRUN <<EOF\necho\n")


# --- The synth-time check ------------------------------------------------------------------


def own_dockerfile(tmp_path: Path, text: str) -> Path:
    """workers/svc/ with this Dockerfile, a requirements file and the shared runtime/."""
    folder = tmp_path / "workers" / "svc"
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(text)
    (folder / "requirements.txt").write_text("")
    (tmp_path / "workers" / "runtime").mkdir()
    return folder


ENTRYPOINT = 'ENTRYPOINT ["python", "-m", "workers.runtime"]\n'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            f"# escape=x\nFROM python\n{ENTRYPOINT}",
            "line 1: invalid escape token 'x' does not match ` or \\",
        ),
        (
            f"FROM python\nRUN <<EOF\npip install x\n{ENTRYPOINT}",
            "line 2: unterminated heredoc: no line 'EOF' ends it",
        ),
        (f"FROM python\nRUNN pip install x\n{ENTRYPOINT}", "line 2: unknown instruction RUNN"),
        (f'FROM python\nARG A="open\n{ENTRYPOINT}', "line 2: unterminated quote or escape in"),
    ],
    ids=["escape directive", "heredoc", "keyword", "quote"],
)
def test_the_synth_check_refuses_what_docker_cannot_parse_in_one_line(
    tmp_path: Path, text: str, problem: str
) -> None:
    found = dockerfile_problems(own_dockerfile(tmp_path, text))

    assert len(found) == 1
    assert found[0].startswith(f"workers/svc/Dockerfile: {problem}")


def test_the_synth_check_reads_the_backtick_escape_as_docker_does(tmp_path: Path) -> None:
    # Given a COPY continued with a backtick: the missing source is found, at its first line
    text = f"# escape=`\nFROM python\nCOPY svc/requirements.txt `\n  svc/missing /x\n{ENTRYPOINT}"
    folder = own_dockerfile(tmp_path, text)

    assert dockerfile_problems(folder) == [
        "workers/svc/Dockerfile: line 3: COPY svc/missing: workers/svc/missing does not exist"
    ]


def test_the_synth_check_ignores_a_heredoc_and_a_body_that_looks_like_a_copy(
    tmp_path: Path,
) -> None:
    text = f"FROM python\nCOPY <<EOF /app/settings.txt\nCOPY elsewhere/x /x\nEOF\n{ENTRYPOINT}"

    assert dockerfile_problems(own_dockerfile(tmp_path, text)) == []
