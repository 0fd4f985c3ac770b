"""Which strings are credentials: the gitleaks ruleset, read as data.

`scanner/data/gitleaks.toml` is gitleaks' default configuration (config/gitleaks.toml of
github.com/gitleaks/gitleaks at b58d3f1, MIT licence, scanner/data/gitleaks.LICENSE): some
220 rules, each a regular expression for one vendor's token format (Stripe `sk_live_`,
GitLab `glpat-`, Google `AIza`, npm `npm_`, OpenAI, Slack, GitHub, AWS, private key blocks,
JWTs...) plus the generic `key = value` assignment rule, with the keywords that must appear
for the rule to apply, the minimum Shannon entropy of the secret and allowlists. Update it
by copying a newer gitleaks.toml over it; nothing here is specific to one version.

Rules are applied as gitleaks applies them to a line of text:
- a rule runs only on text containing one of its keywords (case-insensitive);
- the secret is the rule's `secretGroup`, else the first non-empty group, else the match;
- a rule with `entropy` needs the secret's Shannon entropy (bits per character) at least
  that high;
- the rule's and the global allowlists' `regexes` (on the secret, or on the match with
  `regexTarget = "match"`) and `stopwords` (in the secret) exempt a finding; `paths`
  (file names) and `regexTarget = "line"` do not apply to API values.
Go's RE2 syntax differs from Python's in two places the file uses: `(?i)` in the middle of a
pattern (RE2: case-insensitive from there to the end of the enclosing group) and `\\z`; both
are translated. A rule that still does not compile is skipped (`skipped()` names them; a
test keeps the list empty).

Two formats gitleaks leaves to its generic rule are added (`EXTRA_RULES`): OpenAI project
and service-account keys without the `T3BlbkFJ` marker, and a long random token standing
alone (a Hetzner Cloud API token is 64 such characters), recognised like detect-secrets'
Base64HighEntropyString (entropy of at least 4.5 bits per character) but only for a run of
32 to 128 token characters with upper case, lower case and digits (hex digests, UUIDs
and ids have no upper case; longer runs are encoded data such as a certificate in base64;
PEM blocks and OpenSSH public keys are public material: they stay).
"""

from __future__ import annotations

import math
import re
import tomllib
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One rule; its patterns are compiled on first use (`compiled`), so that reading the
    ruleset costs milliseconds and a rule whose keywords never appear is never compiled."""

    id: str
    regex: str
    secret_group: int = 0
    entropy: float = 0.0
    keywords: tuple[str, ...] = ()
    allow_secret: tuple[str, ...] = ()  # allowlist regexes on the secret
    allow_match: tuple[str, ...] = ()  # allowlist regexes on the whole match
    stopwords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ruleset:
    rules: tuple[Rule, ...]
    keyword_index: dict[str, tuple[Rule, ...]]
    keywords: re.Pattern[str] | None  # any keyword, on lower-cased text (a trie: fast)
    always: tuple[Rule, ...]  # rules without keywords
    allow: tuple[str, ...]  # global allowlist regexes (on the secret)
    stopwords: tuple[str, ...]


EXTRA_RULES = (
    # OpenAI keys: gitleaks' rule needs the T3BlbkFJ marker that older keys carry.
    {"id": "openai-project-key",
     "regex": r"\b(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,})",
     "keywords": ["sk-proj-", "sk-svcacct-", "sk-admin-"], "entropy": 3.0},
)
_LONE_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-+=])[A-Za-z0-9_\-+=]{32,}")
_ENCODED = re.compile(r"[A-Za-z0-9_\-+/=]{129,}")  # base64 data longer than any token
# Public material is random too, and not a secret: certificates and public keys (PEM
# blocks) and OpenSSH public keys (`ssh-ed25519 AAAA...`) are not taken for tokens.
_PUBLIC_MATERIAL = re.compile(
    r"-----BEGIN (?:[A-Z0-9 ]* )?(?:CERTIFICATE|PUBLIC KEY)-----.*?-----END [A-Z0-9 ]*-----"
    r"|(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)"
    r"@openssh\.com) AAAA[A-Za-z0-9+/=]+", re.DOTALL)
LONE_TOKEN_ENTROPY = 4.5  # detect-secrets' Base64HighEntropyString default limit


def entropy(text: str) -> float:
    """Shannon entropy in bits per character (as gitleaks computes it)."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def translate(go_regex: str) -> str:
    """An RE2 pattern in Python's syntax: `\\z` -> `\\Z`; `(?i)` after the start -> `(?i:`
    ... `)` around the rest of the enclosing group."""
    out = go_regex.replace(r"\z", r"\Z")
    while True:
        at = out.find("(?i)", 1)
        if at < 0:
            return out
        depth, i, in_class = 0, at + 4, False
        while i < len(out):
            ch = out[i]
            if ch == "\\":
                i += 2
                continue
            if in_class:
                in_class = ch != "]"
            elif ch == "[":
                in_class = True
                if out[i + 1:i + 2] == "]":
                    i += 1
            elif ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "|" and depth == 0:
                break  # (?i) applies to this alternative only
            i += 1
        out = out[:at] + "(?i:" + out[at + 4:i] + ")" + out[i:]


@cache
def compiled(pattern: str) -> re.Pattern[str] | None:
    """The RE2 pattern compiled by Python's re (translated), or None when it cannot be."""
    try:
        with warnings.catch_warnings():  # "possible nested set": `[[` is literal in RE2 too
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(translate(pattern))
    except re.error:
        return None


def _trie(words: list[str]) -> re.Pattern[str] | None:
    """One pattern matching any of `words`, shaped as a trie: Python's re tries a plain
    alternation of 250 words one by one at every position (1.5 ms a string); a trie is one
    character class per position."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(build(root)) if words else None


def _rule(raw: dict[str, Any]) -> Rule:
    allow_secret: list[str] = []
    allow_match: list[str] = []
    stopwords: list[str] = []
    for allow in raw.get("allowlists") or ():
        if allow.get("paths") and allow.get("condition") == "AND":
            continue  # applies to some file names only
        target = allow.get("regexTarget", "secret")
        if target == "match":
            allow_match.extend(str(r) for r in allow.get("regexes") or ())
        elif target == "secret":
            allow_secret.extend(str(r) for r in allow.get("regexes") or ())
        stopwords.extend(str(w).lower() for w in allow.get("stopwords") or ())
    return Rule(
        id=str(raw["id"]), regex=str(raw["regex"]),
        secret_group=int(raw.get("secretGroup") or 0), entropy=float(raw.get("entropy") or 0),
        keywords=tuple(str(k).lower() for k in raw.get("keywords") or ()),
        allow_secret=tuple(allow_secret), allow_match=tuple(allow_match),
        stopwords=tuple(stopwords))


@cache
def ruleset() -> Ruleset:
    text = resources.files("scanner").joinpath("data/gitleaks.toml").read_text()
    data = tomllib.loads(text)
    rules = [_rule(raw) for raw in [*data.get("rules", []), *EXTRA_RULES]
             if "regex" in raw]  # without: a file-name rule (e.g. pkcs12-file)
    index: dict[str, list[Rule]] = {}
    for rule in rules:
        for word in rule.keywords:
            index.setdefault(word, []).append(rule)
    words = sorted(index, key=len, reverse=True)
    glob = data.get("allowlist") or {}
    return Ruleset(
        rules=tuple(rules),
        keyword_index={k: tuple(v) for k, v in index.items()},
        keywords=_trie(words),
        always=tuple(r for r in rules if not r.keywords),
        allow=tuple(str(r) for r in glob.get("regexes") or ()),
        stopwords=tuple(str(w).lower() for w in glob.get("stopwords") or ()))


def skipped() -> list[str]:
    """The rules Python's re cannot compile even translated (none in the shipped file)."""
    return [r.id for r in ruleset().rules if compiled(r.regex) is None]


def _search(patterns: tuple[str, ...], text: str) -> bool:
    return any((p := compiled(pattern)) is not None and p.search(text)
               for pattern in patterns)


def _secret_of(rule: Rule, match: re.Match[str]) -> str:
    if rule.secret_group and rule.secret_group <= match.re.groups:
        return match.group(rule.secret_group) or ""
    for group in match.groups():
        if group:
            return group
    return match.group(0)


def _allowed(rules: Ruleset, rule: Rule, secret: str, whole: str) -> bool:
    lowered = secret.lower()
    return (_search(rule.allow_secret, secret) or _search(rule.allow_match, whole)
            or any(w in lowered for w in rule.stopwords)
            or _search(rules.allow, secret) or any(w in lowered for w in rules.stopwords))


def _candidates(rules: Ruleset, text: str) -> list[Rule]:
    """The rules one of whose keywords is in `text` (and those without keywords)."""
    found: dict[str, Rule] = {r.id: r for r in rules.always}
    lowered = text.lower()
    if rules.keywords is not None and rules.keywords.search(lowered):
        for word, keyed in rules.keyword_index.items():  # overlapping keywords: each one
            if word in lowered:
                for rule in keyed:
                    found.setdefault(rule.id, rule)
    return list(found.values())


def spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, rule id) of every credential the ruleset finds in `text`."""
    rules = ruleset()
    out: list[tuple[int, int, str]] = []
    for rule in _candidates(rules, text):
        regex = compiled(rule.regex)
        if regex is None:
            continue
        for match in regex.finditer(text):
            secret = _secret_of(rule, match)
            if not secret or (rule.entropy and entropy(secret) < rule.entropy):
                continue
            if _allowed(rules, rule, secret, match.group(0)):
                continue
            start = match.start(0)
            at = match.group(0).find(secret)
            if at >= 0:
                out.append((start + at, start + at + len(secret), rule.id))
    if len(text) >= 32:
        public = [m.span() for m in _PUBLIC_MATERIAL.finditer(text)] if (
            "-----BEGIN" in text or "AAAA" in text) else []
        public += [m.span() for m in _ENCODED.finditer(text)]
        for match in _LONE_TOKEN.finditer(text):
            if lone_token(match.group(0)) and not any(
                    lo <= match.start() < hi for lo, hi in public):
                out.append((match.start(), match.end(), "high-entropy-token"))
    return out


LONE_TOKEN_MAX = 128  # API tokens and keys are 32-100 characters; longer random runs are
# encoded data (a DER certificate in base64: Azure publicCertData), not credentials


def lone_token(text: str) -> bool:
    """A run that is a random token: 32 to 128 token characters with upper case, lower case
    and digits, and at least 4.5 bits of entropy per character."""
    return (32 <= len(text) <= LONE_TOKEN_MAX and any(c.isupper() for c in text)
            and any(c.islower() for c in text) and any(c.isdigit() for c in text)
            and entropy(text) >= LONE_TOKEN_ENTROPY)


@lru_cache(maxsize=1 << 16)
def _found_short(text: str) -> bool:
    return bool(spans(text))


def found(text: str) -> bool:
    """Whether `text` holds a credential the ruleset recognises (short values, which repeat
    across an estate, are remembered)."""
    return _found_short(text) if len(text) <= 256 else bool(spans(text))


def mask(text: str, replacement: str) -> str:
    """`text` with every credential the ruleset finds replaced."""
    found_spans = sorted(spans(text))
    if not found_spans:
        return text
    pieces: list[str] = []
    at = 0
    for start, end, _ in found_spans:
        if end <= at:
            continue
        pieces.append(text[at:max(at, start)])
        pieces.append(replacement)
        at = end
    pieces.append(text[at:])
    return "".join(pieces)
