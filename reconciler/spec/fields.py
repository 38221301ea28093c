"""The scalar value types of the spec language, as annotated pydantic types.

Each type checks one value on its own (a UUID, a name, a path's syntax, an expiry) and
says how to fix it through ``SpecValueError``; each also carries the JSON Schema an
editor uses. Rules that need other values (a path under its collection's root, a
placeholder that fits the principal, a policy cap) belong to ``checking``, not here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, PlainValidator, WithJsonSchema

from reconciler.spec.diagnostics import (
    SpecValueError,
    describe_char,
    describe_value,
    did_you_mean,
)
from reconciler.spec.texts import check_path_text, check_token_text, show
from reconciler.spec.timeparse import EXPIRY_FORMS, parse_duration, parse_expiry

PLACEHOLDERS = ("identity_id", "group_id", "distribution")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID_ATTEMPT = re.compile(r"[0-9a-fA-F-]{30,40}")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_PLACEHOLDER = re.compile(r"\{([^{}/]*)\}")
_UUID_EXAMPLE = "e56c36e4-1063-11e6-a747-22000bf2d559"
_UUID_HINT = f"write 32 hex digits as 8-4-4-4-12, e.g. `{_UUID_EXAMPLE}`"

UUID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
PATH_PATTERN = r"^/((?!\.\.?/)[^/\\\u0000-\u001f\u007f]+/)*$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2}))?$"
DURATION_PATTERN = r"^[1-9][0-9]*[mhdw]$"


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID in the canonical 8-4-4-4-12 form (any case)."""
    return _UUID.fullmatch(text.lower()) is not None


def _looks_like_uuid(text: str) -> bool:
    return _UUID_ATTEMPT.fullmatch(text) is not None and text.count("-") >= 3


def _check_uuid(text: str) -> str:
    check_token_text(text, "UUID")
    if not is_uuid(text):
        raise SpecValueError(f"`{text}` is not a UUID", hint=_UUID_HINT)
    return text.lower()


def _check_name(text: str) -> str:
    check_token_text(text, "name")
    if _looks_like_uuid(text):
        raise SpecValueError(
            f"`{text}` looks like a UUID, but a name is needed here",
            hint="use the local name declared under `collections:` or `groups:`",
        )
    if _NAME.fullmatch(text) is None:
        raise SpecValueError(
            f"`{text}` is not a valid name",
            hint="use lower-case letters, digits, `.`, `_` and `-`, starting with a letter "
            "or digit, e.g. `run42`",
        )
    return text


def _check_reference(text: str) -> str:
    """A UUID (canonicalised to lower case) or a local name."""
    check_token_text(text, "name or UUID")
    if _looks_like_uuid(text):
        return _check_uuid(text)
    if _NAME.fullmatch(text) is None:
        raise SpecValueError(
            f"`{text}` is neither a UUID nor a declared name",
            hint=f"give a local name such as `run42` or a UUID such as `{_UUID_EXAMPLE}`",
        )
    return text


def _check_identity(text: str) -> str:
    """An identity UUID (lower-cased) or a Globus username (it contains ``@``)."""
    check_token_text(text, "username" if "@" in text else "identity")
    if "@" not in text:
        if _looks_like_uuid(text):
            return _check_uuid(text)
        raise SpecValueError(
            f"`{text}` is neither an identity UUID nor a username",
            hint="usernames contain `@` (e.g. `alice@uchicago.edu`); "
            f"identity UUIDs look like `{_UUID_EXAMPLE}`",
        )
    if text.startswith("@") or text.endswith("@"):
        raise SpecValueError(f"`{text}` is not a username", hint="write `user@provider.org`")
    return text


_EMAIL = re.compile(r"[!-~]+@[!-~]+\.[!-~]+")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _check_email(text: str) -> str:
    """One plain email address: printable ASCII, one ``@``, a dot in the domain."""
    if _EMAIL.fullmatch(text) is None or text.count("@") != 1:
        raise SpecValueError(
            f"`{show(text)}` is not an email address",  # escaped: never sent raw to a terminal
            hint="write one address such as `alice@example.org` (printable ASCII, no spaces)",
        )
    return text


def check_path_syntax(text: str, *, placeholders: bool) -> str:
    """``text`` if it is a well-formed directory path; raises ``SpecValueError`` otherwise."""
    check_path_text(text)
    if not text.startswith("/"):
        raise SpecValueError(
            f"path `{text}` must start with `/`",
            hint="paths are absolute within the collection, e.g. `/disthome/run42/`",
        )
    if not text.endswith("/"):
        raise SpecValueError(
            f"path `{text}` must end with `/` (it names a directory)", hint=f"write `{text}/`"
        )
    if "\\" in text:
        raise SpecValueError(
            f"path `{text}` contains a backslash", hint="Globus paths separate names with `/`"
        )
    segments = text[1:-1].split("/") if text != "/" else []
    if "" in segments:
        raise SpecValueError(
            f"path `{text}` has an empty segment (`//`)", hint="write a single `/` between names"
        )
    if "." in segments or ".." in segments:
        raise SpecValueError(
            f"path `{text}` contains a `.` or `..` segment",
            hint="write the path without `.` and `..`, as Globus would resolve it",
        )
    if not placeholders:
        if "{" in text or "}" in text:
            raise SpecValueError(
                f"path `{text}` contains a placeholder",
                hint="placeholders such as `{identity_id}` are only for grant and "
                "distribution paths",
            )
        return text
    for name in _PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise SpecValueError(
                f"unknown placeholder `{{{name}}}` in path `{text}`",
                hint=did_you_mean(name, PLACEHOLDERS) or f"known placeholders: {known}",
            )
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        raise SpecValueError(
            f"path `{text}` has an unmatched `{{` or `}}`",
            hint="placeholders are written `{identity_id}`, `{group_id}` or `{distribution}`",
        )
    return text


def placeholders_in(path: str) -> list[str]:
    """The placeholder names used in a (syntactically checked) path, in order."""
    return _PLACEHOLDER.findall(path)


def _check_plain_path(text: str) -> str:
    return check_path_syntax(text, placeholders=False)


def _check_template_path(text: str) -> str:
    return check_path_syntax(text, placeholders=True)


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text.strip()


def _check_grace(text: str) -> str:
    if re.fullmatch(r"\s*0+\s*[mhdw]\s*", text):
        raise SpecValueError(
            f"`{text}` is no grace at all: a pruned grant's data would be deleted at once",
            hint="the shortest grace is `1m`; the default is `7d`",
        )
    return _check_duration(text)


def _parse_expiry_value(value: Any) -> datetime:
    if not isinstance(value, str):
        raise SpecValueError(
            f"expected a date or a datetime, got {describe_value(value)}", hint=EXPIRY_FORMS
        )
    return parse_expiry(value)


def _parse_notify(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and (meant := meant_boolean(value)) is not None:
        raise SpecValueError(
            f"`notify` must be `true` or `false`, not the string `{value}`: did you mean {meant}?",
            hint=f"write `notify: {meant}` without quotes (YAML 1.2 reads `yes`, `no`, "
            "`on` and `off` as text)",
        )
    if isinstance(value, str):
        raise SpecValueError(
            f"`notify` must be `true` or `false`, got {describe_value(value)}",
            hint="the text of the email goes in `notify_message`, with `notify: true`",
        )
    raise SpecValueError(
        f"`notify` must be `true` or `false`, got {describe_value(value)}",
        hint="`notify: true` has Globus email the grantee",
    )


def meant_boolean(text: str) -> str | None:
    """``"true"`` or ``"false"`` when ``text`` is a word people use for one."""
    word = text.strip().lower()
    if word in ("yes", "on", "true"):
        return "true"
    if word in ("no", "off", "false"):
        return "false"
    return None


def _check_message(text: str) -> str:
    if not text.strip():
        raise SpecValueError(
            "`notify_message` is empty", hint="write the text of the email, or remove the key"
        )
    bad = next((c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"), None)
    if bad is not None:
        raise SpecValueError(
            f"`notify_message` contains {describe_char(bad)}, an invisible or control character",
            hint="remove it; write the message as plain text",
            offset=text.index(bad),
        )
    return text


def _schema(description: str, **extra: Any) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "description": description, **extra})


Permissions = Literal["r", "rw"]
Uuid = Annotated[
    str,
    AfterValidator(_check_uuid),
    _schema("A UUID, 8-4-4-4-12 hex digits.", pattern=UUID_PATTERN),
]
LocalName = Annotated[
    str,
    AfterValidator(_check_name),
    _schema("A local name: lower-case letters, digits, `.`, `_`, `-`.", pattern=NAME_PATTERN),
]
Reference = Annotated[
    str,
    AfterValidator(_check_reference),
    _schema("A declared local name, or a UUID."),
]
IdentityRef = Annotated[
    str,
    AfterValidator(_check_identity),
    _schema("A Globus username (it contains `@`) or an identity UUID."),
]
PlainPath = Annotated[
    str,
    AfterValidator(_check_plain_path),
    _schema("A directory path: starts and ends with `/`.", pattern=PATH_PATTERN),
]
TemplatePath = Annotated[
    str,
    AfterValidator(_check_template_path),
    _schema(
        "A directory path: starts and ends with `/`; may use the placeholders "
        "`{identity_id}` (identity grants), `{group_id}` (group grants), `{distribution}`.",
        pattern=PATH_PATTERN,
    ),
]
Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    _schema(
        "A length of time: a whole number and a unit m (minutes), h, d or w, e.g. `30d`.",
        pattern=DURATION_PATTERN,
    ),
]
Grace = Annotated[
    str,
    AfterValidator(_check_grace),
    _schema(
        "How long a pruned grant's directory is kept: a whole number and a unit m (minutes), "
        "h, d or w, e.g. `7d`.",
        pattern=DURATION_PATTERN,
    ),
]
Expiry = Annotated[
    datetime,
    PlainValidator(_parse_expiry_value),
    _schema(
        "An absolute expiry: a date `YYYY-MM-DD` (00:00 UTC at the start of that day) or "
        "a datetime with a timezone, e.g. `2027-01-31T00:00:00Z`.",
        pattern=DATE_PATTERN,
    ),
]
Email = Annotated[
    str,
    AfterValidator(_check_email),
    _schema("An email address, e.g. `alice@example.org`.", pattern=EMAIL_PATTERN),
]
Notify = Annotated[
    bool,
    PlainValidator(_parse_notify),
    WithJsonSchema(
        {
            "type": "boolean",
            "description": "Have Globus email the grantee when access is granted (the text "
            "in `notify_message`, else Globus's standard message).",
        }
    ),
]
NotifyMessage = Annotated[
    str,
    AfterValidator(_check_message),
    _schema("The text of the email `notify: true` sends.", minLength=1),
]
