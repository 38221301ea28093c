"""Untrusted text: invisible, look-alike and stray whitespace characters in the values
that name principals and directories.

A username with a zero-width space, or with a Cyrillic `\u0430` for a Latin `a`, reads the
same as the real one but names someone else (or no one): applying it would revoke the
real grant and create a phantom one. So:

- usernames, UUIDs and local names (which become principals and placeholders) are
  printable ASCII without whitespace (Globus usernames are ASCII `local@domain`);
- paths may hold any visible character Globus allows, including accented letters and
  other scripts, and spaces inside a name, but no control or format characters
  (zero-width, bidirectional), no whitespace other than a plain space, no space at the
  start or end of a name, no compatibility look-alike (a full-width `\uff41`, the
  ligature `\ufb01`), and no name mixing Latin letters with letters of a script that has
  Latin look-alikes (Cyrillic, Greek...).

A failure is a ``SpecValueError`` naming the code point and carrying its ``offset`` in
the value, which ``validating`` turns into a file column. Pure; the common case (plain
ASCII) costs two string method calls.
"""

from __future__ import annotations

import re
import unicodedata

from reconciler.spec.diagnostics import SpecValueError, describe_char

_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Zs"})
_LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"})
_SINGLE_LETTER = re.compile(r"(SMALL|CAPITAL) LETTER ([A-Z])$")
_KNOWN_LOOKALIKES = {
    "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c",
    "\u0443": "y", "\u0445": "x", "\u0456": "i", "\u0458": "j", "\u0455": "s",
    "\u04bb": "h", "\u0501": "d", "\u03bf": "o", "\u03b1": "a", "\u03bd": "v",
    "\u03c1": "p", "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0397": "H",
    "\u0399": "I", "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O",
    "\u03a1": "P", "\u03a4": "T", "\u03a7": "X", "\u03a5": "Y", "\u0396": "Z",
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M",
    "\u041d": "H", "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T",
    "\u0425": "X",
}  # fmt: skip


def check_token_text(text: str, what: str) -> None:
    """``text`` (a username, UUID or name, called ``what`` in messages) is printable
    ASCII without whitespace; raises ``SpecValueError`` at the first character that is
    not."""
    if text.isascii() and text.isprintable() and " " not in text:
        return
    for offset, char in enumerate(text):
        if not ("!" <= char <= "~"):
            raise _refused(text, what, offset, char, ascii_only=True)


def check_path_text(text: str) -> None:
    """``text`` (a path) has no invisible, look-alike or stray whitespace characters."""
    if text.isascii() and text.isprintable():
        _check_segment_spaces(text)
        return
    start = 0
    for segment in text.split("/"):
        _check_segment(text, segment, start)
        start += len(segment) + 1
    _check_segment_spaces(text)


def _check_segment(text: str, segment: str, start: int) -> None:
    latin = False
    foreign: tuple[int, str] | None = None
    for index, char in enumerate(segment):
        if char.isascii():
            if not char.isprintable():
                raise _refused(text, "path", start + index, char, ascii_only=False)
            latin = latin or char.isalpha()
            continue
        category = unicodedata.category(char)
        if category in _BAD_CATEGORIES:
            raise _refused(text, "path", start + index, char, ascii_only=False)
        folded = unicodedata.normalize("NFKC", char)
        if folded != char and folded.isascii():
            raise _refused(text, "path", start + index, char, ascii_only=False)
        if char.isalpha():
            script = unicodedata.name(char, "").split(" ", 1)[0]
            if script == "LATIN":
                latin = True
            elif script in _LOOKALIKE_SCRIPTS and foreign is None:
                foreign = (start + index, char)
    if latin and foreign is not None:
        raise _refused(text, "path", foreign[0], foreign[1], ascii_only=False, mixed=True)


def _check_segment_spaces(text: str) -> None:
    start = 0
    for segment in text.split("/"):
        if segment[:1] == " ":
            raise _space(text, start)
        if segment[-1:] == " ":
            raise _space(text, start + len(segment) - 1)
        start += len(segment) + 1


def _space(text: str, offset: int) -> SpecValueError:
    return SpecValueError(
        f"path `{show(text)}` has a space at the start or end of a name",
        hint="remove the space: it is easy to miss and names another directory",
        offset=offset,
    )


def _refused(
    text: str, what: str, offset: int, char: str, *, ascii_only: bool, mixed: bool = False
) -> SpecValueError:
    category = unicodedata.category(char)
    looks = lookalike_of(char)
    if category == "Cc":
        kind = "a control character"
    elif category in ("Zs", "Zl", "Zp"):
        kind = "whitespace"
    elif category in ("Cf", "Co", "Cn", "Cs"):
        kind = "an invisible character"
    elif looks:
        kind = f"a look-alike of `{looks}`"
    else:
        kind = "a non-ASCII character"
    if mixed:
        kind = f"a letter of another script among Latin ones (a look-alike{_of(looks)})"
    if ascii_only:
        hint = (
            f"{_plural(what)} are plain ASCII (Globus usernames are `local@domain`): "
            "retype the value without it"
        )
    else:
        hint = "retype the name in one script, without invisible characters"
    return SpecValueError(
        f"{what} `{show(text)}` contains {describe_char(char)} ({kind})",
        hint=hint,
        offset=offset,
    )


def lookalike_of(char: str) -> str | None:
    """The ASCII letter ``char`` is easily mistaken for, when there is one."""
    if char in _KNOWN_LOOKALIKES:
        return _KNOWN_LOOKALIKES[char]
    folded = unicodedata.normalize("NFKC", char)
    if folded != char and folded.isascii() and folded.isprintable():
        return folded
    match = _SINGLE_LETTER.search(unicodedata.name(char, ""))
    if match is None:
        return None
    return match[2].lower() if match[1] == "SMALL" else match[2]


def show(text: str) -> str:
    """``text`` with every non-ASCII or unprintable character written as an escape."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        c if c.isascii() and c.isprintable() else c.encode("unicode_escape").decode() for c in text
    )


def _of(looks: str | None) -> str:
    return f" of `{looks}`" if looks else ""


def _plural(what: str) -> str:
    return {"identity": "identities", "UUID": "UUIDs"}.get(what, what + "s")
