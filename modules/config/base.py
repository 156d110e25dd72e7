"""What every config model shares: the strict base, the error a validator raises to name a
field, and the text patterns fields are checked against with the words that explain them."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,19}$"
NAME_RULE = "lowercase letters, digits and '-', starting with a letter, at most 20 characters"
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
VPC_ID_PATTERN = r"^vpc-[0-9a-f]{8,17}$"
SUBNET_ID_PATTERN = r"^subnet-[0-9a-f]{8,17}$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CONTAINER_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
_REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"
COGNITO_ISSUER_PATTERN = rf"^https://cognito-idp\.{_REGION}\.amazonaws\.com/{_REGION}_[0-9A-Za-z]+$"
COGNITO_CLIENT_ID_PATTERN = r"^[\w+]{1,128}$"
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
HANDLER_PATTERN = rf"^{_IDENTIFIER}(\.{_IDENTIFIER})*:{_IDENTIFIER}$"
# What each pattern means, in the words an error message uses ("must be ...").
PATTERN_RULES = {
    NAME_PATTERN: NAME_RULE,
    REGION_PATTERN: "an AWS region such as eu-west-1",
    VPC_ID_PATTERN: "a VPC id: 'vpc-' and 8 to 17 hex digits, e.g. vpc-0a1b2c3d4e5f67890",
    SUBNET_ID_PATTERN: "a subnet id: 'subnet-' and 8 to 17 hex digits, e.g. subnet-0a1b2c3d",
    BUCKET_PATTERN: "an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-'",
    EMAIL_PATTERN: "an email address such as team@example.com",
    CONTAINER_NAME_PATTERN: (
        "lowercase letters, digits and '-', starting with a letter, at most 32 characters"
    ),
    ENV_NAME_PATTERN: "uppercase letters, digits and '_', not starting with a digit",
    COGNITO_ISSUER_PATTERN: (
        "a Cognito user pool issuer, https://cognito-idp.<region>.amazonaws.com/<user pool id>"
    ),
    COGNITO_CLIENT_ID_PATTERN: "a Cognito app client id: letters, digits, '_' or '+'",
    HANDLER_PATTERN: (
        "'module:function', the module a path of Python names inside the service's folder, "
        "e.g. handler:handle or tasks.resize:handle"
    ),
}


# How much of a user's value an error message repeats: enough to recognise it, never a whole
# pasted file (a value may be up to a config file's size).
EXCERPT_CHARS = 40


def shorten(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` itself, or when longer than `limit`, its start and its length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def printable(text: str) -> str:
    """`text` safe on one line of a terminal: control characters (and bytes that were not
    UTF-8 in a file name) escaped."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def field_part(text: str) -> str:
    """A key as one part of a field's dotted path in a message ('' for an empty key)."""
    return shorten(printable(text)) if text else "''"


def quote(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` quoted as Python would (control characters escaped), shortened like `shorten`."""
    quoted = repr(text)
    if len(quoted) <= limit + 2:
        return quoted
    return f"{quoted[: limit + 1]}... ({len(text)} characters)"


def elide(text: str, limit: int) -> str:
    """`text`, or its start and end around what was left out: a message's end often says what
    is allowed or where."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return f"{text[: limit - tail]} ...[{len(text) - limit} characters]... {text[-tail:]}"


class FieldError(ValueError):
    """A problem a validator found in one field of the model it validates.

    Pydantic places a model validator's error at the model itself; raising this instead lets the
    message name the field (`queue.visibility_timeout_seconds`, not `queue`).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _repeated(values: list[str]) -> str:
    """The values that occur more than once, quoted and comma-separated ('' when none do)."""
    return ", ".join(quote(value) for value, count in Counter(values).items() if count > 1)
