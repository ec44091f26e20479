"""Redaction of secrets in log samples (evidence.redact and evidence.secret_rules).

Fake secrets are assembled at run time (``_join``) so this file itself never contains a
string that secret scanners (GitHub push protection, detect-secrets hooks) would flag.
"""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from micro_gastown.evidence import TRUNCATED, Redactor, default_redactor, is_secret_key
from micro_gastown.evidence.secret_rules import regex_detector_classes

MARKER = re.compile(r"\[REDACTED:[a-z0-9-]+\]")


def _join(*parts: str) -> str:
    return "".join(parts)


def _b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


ALNUM = "aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zC"  # 32 mixed characters, reused to build fakes
HEX = "9f86d081884c7d659a2feaa0c55ad015"  # 32 lowercase hex
JWT = _join(
    _b64url({"alg": "HS256", "typ": "JWT"}),
    ".",
    _b64url({"sub": "1234567890", "name": "Jane Doe", "iat": 1516239022}),
    ".",
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
)
PEM_BODY = "MIIEowIBAAKCAQEAx3uEc7nq0PkPAR8c"
PEM = _join(
    "-----BEGIN RSA ",
    "PRIVATE KEY-----\n",
    PEM_BODY,
    "\nq9yZ2rT7Y1b4Kd0sLm3Jx6Wv8Pq5Nz2Hf4Gt7Rk1Ua==\n",
    "-----END RSA ",
    "PRIVATE KEY-----",
)

# (log text, the secret that must disappear, the marker kind we expect)
PROVIDER_CASES: list[tuple[str, str, str]] = [
    (
        f"using key {_join('AKIA', 'IOSFODNN7EXAMPLE')} for s3",
        _join("AKIA", "IOSFODNN7EXAMPLE"),
        "aws-access-key",
    ),
    (
        _join('aws_secret_access_key = "', "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", '"'),
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws-access-key",
    ),
    (
        f"git push with {_join('ghp_', ALNUM, 'q1w2')} failed",
        _join("ghp_", ALNUM, "q1w2"),
        "github-token",
    ),
    (
        f"GH_TOKEN {_join('github_pat_', '11ABCDEFG0123456789abc_', ALNUM, ALNUM)}",
        _join("github_pat_", "11ABCDEFG0123456789abc_", ALNUM, ALNUM),
        "github-token",
    ),
    (
        f"clone with {_join('glpat-', 'xY7zQ2wE9rT4uI1oP3aS')} ok",
        _join("glpat-", "xY7zQ2wE9rT4uI1oP3aS"),
        "gitlab-token",
    ),
    (
        f"slack {_join('xoxb-', '123456789012-1234567890123-', 'AbCdEfGhIjKlMnOpQrStUvWx')}",
        _join("xoxb-", "123456789012-1234567890123-", "AbCdEfGhIjKlMnOpQrStUvWx"),
        "slack-token",
    ),
    (
        _join("posting to https://hooks.slack.com/services/", "T0ABCDEFG/B0ABCDEFG/", ALNUM),
        _join("T0ABCDEFG/B0ABCDEFG/", ALNUM),
        "slack-token",
    ),
    (
        f"charge with {_join('sk_', 'live_', ALNUM[:24])} declined",
        _join("sk_", "live_", ALNUM[:24]),
        "stripe-access-key",
    ),
    (f"twilio {_join('SK', HEX)} rejected", _join("SK", HEX), "twilio-api-key"),
    (f"token {JWT} rejected: expired", JWT, "json-web-token"),
    (
        "GET https://deploy:Tr0ub4dorXyz@registry.example.com/v2/ 401",
        "Tr0ub4dorXyz",
        "basic-auth-credentials",
    ),
    (f"loaded key\n{PEM}\nfrom vault", PEM_BODY, "private-key"),
    (
        f"openai {_join('sk-', 'proj', ALNUM[:16], 'T3Blbk', 'FJ', ALNUM[:20])}",
        _join("sk-", "proj", ALNUM[:16], "T3Blbk", "FJ", ALNUM[:20]),
        "openai-token",
    ),
    (
        f"//registry.npmjs.org/:_authToken={_join('npm_', ALNUM, 'zzzz')}",
        _join("npm_", ALNUM, "zzzz"),
        "npm-tokens",
    ),
    (
        f"twine upload {_join('pypi-', 'AgEIcHlwaS5vcmc', ALNUM, ALNUM, ALNUM[:10])}",
        _join("pypi-", "AgEIcHlwaS5vcmc", ALNUM, ALNUM, ALNUM[:10]),
        "pypi-token",
    ),
    (
        f"mail via {_join('SG.', ALNUM[:22], '.', ALNUM, ALNUM[:11])}",
        _join("SG.", ALNUM[:22], ".", ALNUM, ALNUM[:11]),
        "sendgrid-api-key",
    ),
    (
        _join("DefaultEndpointsProtocol=https;AccountKey=", ALNUM * 2, ALNUM[:22], "==;"),
        _join(ALNUM * 2, ALNUM[:22], "=="),
        "azure-storage-account-access-key",
    ),
    (
        f"artifactory api key {_join('AKC', 'p8kq3', ALNUM)} ok",
        _join("AKC", "p8kq3", ALNUM),
        "artifactory-credentials",
    ),
    (
        f"discord {_join('MTk4NjIyNDgzNDcxOTI1MjQ4', '.Cl2FMQ.', 'ZnCjm1XVW7vRze4b7Cq4se7kKWs')}",
        _join("MTk4NjIyNDgzNDcxOTI1MjQ4", ".Cl2FMQ.", "ZnCjm1XVW7vRze4b7Cq4se7kKWs"),
        "discord-bot-token",
    ),
    (f"mailchimp {_join(HEX, '-us12')} ok", _join(HEX, "-us12"), "mailchimp-access-key"),
    (
        f"square {_join('sq0csp-', ALNUM, 'abcdefghijk')} ok",
        _join("sq0csp-", ALNUM, "abcdefghijk"),
        "square-oauth-secret",
    ),
    (
        f"bot {_join('123456789:', 'AAH', ALNUM)} offline",
        _join("123456789:", "AAH", ALNUM),
        "telegram-bot-token",
    ),
    (
        f"ibm_cloud_iam_key={_join(ALNUM, 'abcdefghijkl')}",
        _join(ALNUM, "abcdefghijkl"),
        "ibm-cloud-iam-key",
    ),
    (
        f"ibm_cos_secret_access_key={_join(HEX, HEX[:16])}",
        _join(HEX, HEX[:16]),
        "ibm-cos-hmac-credentials",
    ),
    (
        f"softlayer_api_key={_join(HEX, HEX)}",
        _join(HEX, HEX),
        "softlayer-credentials",
    ),
    (
        f"https://acme:{_join(HEX, HEX)}@acme.cloudant.com/db",
        _join(HEX, HEX),
        "basic-auth-credentials",
    ),
    # Rules of our own.
    (
        f"client init {_join('sk-ant-', 'api03-', ALNUM, ALNUM, '-AA')}",
        _join("sk-ant-", "api03-", ALNUM, ALNUM, "-AA"),
        "anthropic-api-key",
    ),
    ("page ops.oncall+alerts@example.co.uk now", "ops.oncall+alerts@example.co.uk", "email"),
    ("reply to mailto:jane@example.org", "jane@example.org", "email"),
    (
        f"retrying with bearer {_join('ya29.', ALNUM)} after 401",
        _join("ya29.", ALNUM),
        "bearer-token",
    ),
    ("login password=hunter2 user=bob", "hunter2", "secret-keyword"),
    ("db_password: 's3cr3t pass!'", "s3cr3t pass!", "secret-keyword"),
    ('{"client_secret": "abcdef123456"}', "abcdef123456", "secret-keyword"),
    ('payload {\\"password\\": \\"hunter2\\"} rejected', "hunter2", "secret-keyword"),
    ("GET /cb?code=1&access_token=abc123def&state=x", "abc123def", "secret-keyword"),
    ("X-Api-Key: 12345abcdef", "12345abcdef", "secret-keyword"),
    ("run --token=tok_abc123 --verbose", "tok_abc123", "secret-keyword"),
    ("Cookie: sid=zx81spectrum; theme=dark", "zx81spectrum", "secret-keyword"),
    (f"Authorization: Bearer {JWT}", JWT, "secret-keyword"),
    ('request {"authorization": "Basic ZGVwbG95Omh1bnRlcjI="}', "ZGVwbG95Omh1bnRlcjI=", ""),
    (f'config "{ALNUM}{ALNUM[:8]}" loaded', f"{ALNUM}{ALNUM[:8]}", "base64-high-entropy-string"),
]

# Ordinary log lines: nothing in them is a secret, and every character must survive.
ORDINARY = [
    "payment gateway timeout after 30000 ms for order 12345",
    "payment gateway timeout after 29871 ms for order 99",
    "span_id=4bf92f3577b34da6 trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
    "request 3fa85f64-5717-4562-b3fc-2c963f66afa6 failed with status 503",
    'graph_transition from "classify" to "respond" trigger "tool_result"',
    "llm_call model=claude-haiku-4-5-20251001 prompt_tokens=1834 completion_tokens=211",
    'effect_execution effect_type="HttpRequest" success=false latency_ms=5012',
    "error: schema validation failed at $.items[3].price: expected number, got string",
    "retrying in 2.5s (attempt 3/5)",
    "connection reset by peer while reading from 10.0.3.17:6379",
    "connection refused to 8.8.8.8:53",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 deployed to prod",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "file /home/runner/work/app/src/Handlers.hs line 142: non-exhaustive patterns",
    "cabal build failed: Could not find module 'Data.Aeson.KeyMap'",
    'template "templates/process.jinja" references undefined variable "customer_name"',
    "rate limited by upstream (429), retry-after=30",
    "tokenizer produced 4096 tokens, truncating to max_tokens=4000 token_count=5",
    "token budget exceeded: used 120000 of 100000",
    "auth service unavailable (503)",
    "session_id=7f3c2a1b9e8d4c6f expired after 3600s",
    "secret rotation scheduled for 2024-06-01T00:00:00Z",
    "password reset email queued",
    "GET /api/v1/orders/12345?page=2&limit=50 200 12ms",
    "https://grafana.example.com/explore?orgId=1&left=%5B%22now-1h%22%5D",
    'node "processOrderNodeHandlerFactoryImpl" raised ValidationError',
    'model "claude-haiku-4-5-20251001" returned stop_reason "max_tokens"',
    '{"type": "error", "message": "tool call failed", "context": {"attempt": 2}}',
    'Traceback (most recent call last):\n  File "/app/main.py", line 12, in <module>',
    'ulid "01ARZ3NDEKTSV4RRFFQ69G5FAV" not found',
    "worker-7 picked job job_01J2K3L4M5N6P7Q8R9S0",
    "apikey header missing",
    "Bearer token expired, refreshing",
    "no credentials found for profile default",
    "auth=none retries=3 backoff=exponential",
    '{"token": 512, "auth": false, "api_key": null, "password": ""}',
    "token: 512 of 4096 used",
    "APDatabaseConnectionTimeout in pool",
    "user alice@ not found",
    "the secret sauce is consistency",
    "",
]


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return default_redactor()


@pytest.mark.parametrize(("text", "secret", "kind"), PROVIDER_CASES)
def test_provider_secret_is_redacted(redactor: Redactor, text: str, secret: str, kind: str) -> None:
    """Each provider's token format is found and replaced, labelled with its kind."""
    out = redactor.redact_text(text)
    assert secret not in out
    if kind:
        assert f"[REDACTED:{kind}]" in out, out


@pytest.mark.parametrize(("text", "secret", "kind"), PROVIDER_CASES)
def test_every_value_detect_secrets_reports_is_gone(
    redactor: Redactor, text: str, secret: str, kind: str
) -> None:
    """Our span extraction covers whatever the plugins' own analyze_string reports."""
    out = redactor.redact_text(text)
    for cls in regex_detector_classes():
        for value in cls().analyze_string(text):
            value = value.strip(" \t\n\"'=:")
            if len(value) >= 8:  # GitHub's plugin reports only the 3-letter prefix
                assert value not in out, (cls.__name__, value)


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_log_line_is_unchanged(redactor: Redactor, text: str) -> None:
    """Words, numbers, UUIDs, hex span ids, hashes, paths and IPs are evidence, not secrets."""
    assert redactor.redact_text(text) == text


def test_maintained_rule_set_is_in_use() -> None:
    """The detect-secrets providers we rely on are all discovered (an upgrade can only add)."""
    names = {cls.__name__ for cls in regex_detector_classes()}
    assert {
        "AWSKeyDetector",
        "ArtifactoryDetector",
        "AzureStorageKeyDetector",
        "BasicAuthDetector",
        "DiscordBotTokenDetector",
        "GitHubTokenDetector",
        "GitLabTokenDetector",
        "IbmCloudIamDetector",
        "JwtTokenDetector",
        "MailchimpDetector",
        "NpmDetector",
        "OpenAIDetector",
        "PrivateKeyDetector",
        "PypiTokenDetector",
        "SendGridDetector",
        "SlackDetector",
        "SoftlayerDetector",
        "SquareOAuthDetector",
        "StripeDetector",
        "TelegramBotTokenDetector",
        "TwilioKeyDetector",
    } <= names
    assert "IPPublicDetector" not in names


def test_private_key_block_is_redacted_whole(redactor: Redactor) -> None:
    """The PEM body goes, not only the BEGIN line the plugin matches; text around it stays."""
    out = redactor.redact_text(f"loaded key\n{PEM}\nfrom vault")
    assert out == "loaded key\n[REDACTED:private-key]\nfrom vault"


def test_private_key_cut_off_is_redacted_to_the_end(redactor: Redactor) -> None:
    out = redactor.redact_text(PEM[:60])
    assert out == "[REDACTED:private-key]"


def test_jwt_signature_is_redacted_too(redactor: Redactor) -> None:
    signature = JWT.rsplit(".", 1)[1]
    assert signature not in redactor.redact_text(f"jwt={JWT};")


def test_basic_auth_url_keeps_user_and_host(redactor: Redactor) -> None:
    out = redactor.redact_text("postgres://admin:s3cr3tpw@db.internal:5432/app")
    assert out == "postgres://admin:[REDACTED:basic-auth-credentials]@db.internal:5432/app"


def test_unquoted_value_ends_at_separator(redactor: Redactor) -> None:
    out = redactor.redact_text("GET /cb?access_token=abc123def&state=xyz&page=2")
    assert out == "GET /cb?access_token=[REDACTED:secret-keyword]&state=xyz&page=2"


def test_hidden_characters_cannot_split_a_secret(redactor: Redactor) -> None:
    """A zero-width space inside a token would dodge every rule yet render whole."""
    token = _join("ghp_", ALNUM, "q1w2")
    out = redactor.redact_text(f"token {token[:10]}\u200b{token[10:]}\u202e")
    assert out == "token [REDACTED:github-token]"


# --- JSON-like values ---------------------------------------------------------------------


def test_nested_json_is_redacted_and_copied(redactor: Redactor) -> None:
    token = _join("ghp_", ALNUM, "q1w2")
    event = {
        "type": "error",
        "message": f"push failed with {token}",
        "context": {
            "attempts": [1, 2, {"note": "contact ops@example.com"}],
            "ok": False,
            "ratio": 0.5,
            "missing": None,
        },
    }
    out = redactor.redact_value(event)
    assert out == {
        "type": "error",
        "message": "push failed with [REDACTED:github-token]",
        "context": {
            "attempts": [1, 2, {"note": "contact [REDACTED:email]"}],
            "ok": False,
            "ratio": 0.5,
            "missing": None,
        },
    }
    assert event["message"] == f"push failed with {token}"  # the input is not modified


def test_secret_keyed_values_are_replaced_whole(redactor: Redactor) -> None:
    event = {
        "password": "hunter2",
        "apiKey": 12345,
        "X-Auth-Token": "abc",
        "Authorization": "Bearer abc",
        "credentials": {"user": "bob", "pin": "0000"},
        "session_token": "s",
        "private_key": "k",
        "Set-Cookie": "sid=1",
        "db_password": "",
        "api_key": None,
        "auth": False,
        "token": 512,
        "output_token": 80,
        "prompt_tokens": 1200,
        "max_tokens": 4096,
        "token_count": 5,
        "author": "jane",
        "session_id": "7f3c2a1b",
    }
    out = redactor.redact_value(event)
    secret = "[REDACTED:secret-field]"
    assert out == {
        "password": secret,
        "apiKey": secret,
        "X-Auth-Token": secret,
        "Authorization": secret,
        "credentials": secret,
        "session_token": secret,
        "private_key": secret,
        "Set-Cookie": secret,
        "db_password": "",
        "api_key": None,
        "auth": False,
        "token": 512,
        "output_token": 80,
        "prompt_tokens": 1200,
        "max_tokens": 4096,
        "token_count": 5,
        "author": "jane",
        "session_id": "7f3c2a1b",
    }


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("password", True),
        ("passwd", True),
        ("DB_PASSWORD", True),
        ("secret", True),
        ("clientSecret", True),
        ("token", True),
        ("refresh_token", True),
        ("api_key", True),
        ("apikey", True),
        ("APIKey", True),
        ("x-api-key", True),
        ("authorization", True),
        ("auth", True),
        ("credentials", True),
        ("private_key", True),
        ("cookie", True),
        ("session_token", True),
        ("aws_secret_access_key", True),
        ("prompt_tokens", False),
        ("completion_tokens", False),
        ("token_count", False),
        ("token_usage", False),
        ("token_bloat", False),
        ("password_length", False),
        ("author", False),
        ("oauth_provider", False),
        ("session_id", False),
        ("latency_ms", False),
        ("", False),
    ],
)
def test_is_secret_key(key: str, expected: bool) -> None:
    assert is_secret_key(key) is expected


def test_containers_and_strings_are_bounded() -> None:
    """Huge strings, lists and deep nesting are cut with a marker, not copied whole."""
    small = Redactor(max_chars=100, max_items=3, max_depth=2)
    text = small.redact_text("x" * 1000)
    assert text == "x" * 100 + TRUNCATED
    assert small.redact_value(list(range(10))) == [0, 1, TRUNCATED]
    assert small.redact_value({"a": {"b": {"c": 1}}}) == {"a": {"b": TRUNCATED}}
    assert small.redact_value({str(i): i for i in range(5)}) == {"0": 0, "1": 1, "…": TRUNCATED}


def test_truncation_does_not_split_a_marker_or_leak_a_secret() -> None:
    small = Redactor(max_chars=100)
    token = _join("ghp_", ALNUM, "q1w2")
    out = small.redact_text("a" * 90 + " " + token + " tail" * 50)
    assert token[:8] not in out
    assert out == "a" * 90 + " " + TRUNCATED
    assert small.redact_text(out) == out


def test_truncated_text_is_stable() -> None:
    small = Redactor(max_chars=64)
    once = small.redact_text("password=hunter2 " * 20)
    assert once.endswith(TRUNCATED)
    assert small.redact_text(once) == once


@pytest.mark.parametrize(
    "unit",
    [
        "a",
        "password",
        "secret",
        "api_key",
        "=",
        "a@",
        '"A1',
        "-----BEGIN PRIVATE KEY",
        "eyJ",
        "x:",
        "sk-",
        "sk-ant-",
        "://a:",
        '\\"',
        '"a" == ',
        "password=",
        "--token=",
    ],
)
def test_pathological_input_is_fast(redactor: Redactor, unit: str) -> None:
    """No catastrophic backtracking: 50k characters of near-matches finish quickly."""
    import time

    text = unit * (50_000 // len(unit))
    start = time.perf_counter()
    redactor.redact_text(text)
    assert time.perf_counter() - start < 2


# --- properties ---------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "payment",
        "gateway",
        "timeout",
        "after",
        "ms",
        "order",
        "12345",
        "node",
        "respond",
        "retry",
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "4bf92f3577b34da6",
        "status=503",
        "latency_ms=2390",
        "(429)",
        "/app/src/Graph.hs",
        "10.0.0.1:8080",
    ]
)


def _fixed(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=size, max_size=size)


_LOWER_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"
_ALNUM = _LOWER_DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# (strategy for the secret, how it appears in the text)
_SECRETS = st.one_of(
    st.tuples(_fixed(_ALNUM, 36).map(lambda s: _join("ghp_", s)), st.just("{}")),
    st.tuples(_fixed(_UPPER_DIGITS, 16).map(lambda s: _join("AKIA", s)), st.just("{}")),
    st.tuples(_fixed(_ALNUM, 24).map(lambda s: _join("sk_", "live_", s)), st.just("{}")),
    st.tuples(_fixed(_ALNUM + "-_", 40).map(lambda s: _join("sk-ant-api03-", s)), st.just("{}")),
    st.tuples(_fixed(_ALNUM, 24).map(lambda s: _join("xoxb-1234-5678-", s)), st.just("{}")),
    st.tuples(_fixed(_ALNUM, 20).map(lambda s: _join("glpat-", s)), st.just("{}")),
    st.tuples(_fixed(_ALNUM, 12), st.just("password={}")),
    st.tuples(_fixed(_ALNUM, 12), st.just("https://user:{}@example.com/")),
    st.tuples(_fixed(_ALNUM, 20), st.just('"api_key": "{}"')),
    st.tuples(_fixed(_ALNUM, 20), st.just("Authorization: Bearer {}")),
    st.tuples(_fixed(_LOWER_DIGITS, 10).map(lambda s: f"{s}@example.com"), st.just("{}")),
)
_SEPARATORS = st.sampled_from([" ", "\n", ", ", " | ", "; ", "\t"])


@st.composite
def _log_with_secrets(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts: list[str] = []
    secrets: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        parts.extend(draw(st.lists(_WORDS, max_size=3)))
        secret, shape = draw(_SECRETS)
        secrets.append(secret)
        parts.append(shape.format(secret))
    parts.extend(draw(st.lists(_WORDS, max_size=3)))
    separator = draw(_SEPARATORS)
    return separator.join(parts), secrets


@settings(max_examples=150, deadline=None)
@given(_log_with_secrets())
def test_injected_secrets_never_survive(case: tuple[str, list[str]]) -> None:
    text, secrets = case
    redactor = default_redactor()
    out = redactor.redact_text(text)
    for secret in secrets:
        assert secret not in out
    assert redactor.redact_text(out) == out


@settings(max_examples=150, deadline=None)
@given(st.lists(_WORDS, max_size=12), _SEPARATORS)
def test_ordinary_words_survive(words: list[str], separator: str) -> None:
    text = separator.join(words)
    assert default_redactor().redact_text(text) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_redaction_is_idempotent_on_any_text(text: str) -> None:
    redactor = default_redactor()
    once = redactor.redact_text(text)
    assert redactor.redact_text(once) == once


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=40),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=12), children, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_value_redaction_is_idempotent(value: object) -> None:
    redactor = Redactor(max_items=3, max_depth=3)
    once = redactor.redact_value(value)
    assert redactor.redact_value(once) == once


def test_markers_are_not_redacted_again(redactor: Redactor) -> None:
    text = 'token=[REDACTED:github-token] {"password": "[REDACTED:secret-keyword]"}'
    assert redactor.redact_text(text) == text


def test_unknown_marker_kinds_are_not_trusted(redactor: Redactor) -> None:
    """Text that only looks like a marker cannot shield a secret from the key rule."""
    assert "hunter2" not in redactor.redact_text("password=[REDACTED:hunter2]")


# --- matches around markers already in the text -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The match starts before a marker and goes on past it: both outer parts go.
        (
            "[REDACTED:email] password=ab[REDACTED:github-token]cd",
            "[REDACTED:email] password=[REDACTED:secret-keyword][REDACTED:github-token]"
            "[REDACTED:secret-keyword]",
        ),
        ("password=ab[REDACTED:email]", "password=[REDACTED:secret-keyword][REDACTED:email]"),
        (
            "password=[REDACTED:email]cd [REDACTED:github-token]",
            "password=[REDACTED:email][REDACTED:secret-keyword] [REDACTED:github-token]",
        ),
        # Whitespace next to a marker stays, including a blank rest at the end of the text.
        (
            "Authorization: Bearer abc123 [REDACTED:email] tail ",
            "Authorization: [REDACTED:secret-keyword] [REDACTED:email] [REDACTED:secret-keyword] ",
        ),
        (
            "Authorization: Bearer [REDACTED:email] ",
            "Authorization: [REDACTED:secret-keyword] [REDACTED:email] ",
        ),
    ],
)
def test_a_match_around_markers_redacts_all_that_is_outside_them(
    redactor: Redactor, text: str, expected: str
) -> None:
    assert redactor.redact_text(text) == expected


def test_overlapping_matches_are_named_after_the_longest(redactor: Redactor) -> None:
    """The key rule's value and the GitHub rule's token start together; the value is longer."""
    token = _join("ghp_", ALNUM, "q1w2")
    assert redactor.redact_text(f"token={token}.v2") == "token=[REDACTED:secret-keyword]"


def test_the_longest_match_names_the_piece_a_marker_leaves(redactor: Redactor) -> None:
    """The value runs on into a marker: cut there it equals the AWS key, yet it was longer."""
    aws = _join("AKIA", "IOSFODNN7EXAMPLE")
    assert redactor.redact_text(f"token={aws}[REDACTED:email]") == (
        "token=[REDACTED:secret-keyword][REDACTED:email]"
    )


def test_touching_secrets_keep_a_marker_each(redactor: Redactor) -> None:
    token = _join("ghp_", ALNUM, "q1w2")
    aws = _join("AKIA", "IOSFODNN7EXAMPLE")
    assert redactor.redact_text(f"key {aws}{token}") == (
        "key [REDACTED:aws-access-key][REDACTED:github-token]"
    )


# --- values that are not plain JSON ------------------------------------------------------


class _Note:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def test_other_objects_become_their_redacted_text(redactor: Redactor) -> None:
    token = _join("ghp_", ALNUM, "q1w2")
    assert redactor.redact_value(_Note(f"push with {token}")) == "push with [REDACTED:github-token]"


def test_values_under_non_string_keys_are_redacted_too(redactor: Redactor) -> None:
    token = _join("ghp_", ALNUM, "q1w2")
    value = {1: token, (2, 3): {"password": "hunter2"}, "note": token}
    assert redactor.redact_value(value) == {
        1: "[REDACTED:github-token]",
        (2, 3): {"password": "[REDACTED:secret-field]"},
        "note": "[REDACTED:github-token]",
    }


def test_depth_counts_through_lists_and_non_string_keys() -> None:
    shallow = Redactor(max_depth=2)
    assert shallow.redact_value([["x", ["y"]]]) == [["x", TRUNCATED]]
    assert shallow.redact_value({1: {2: "x", 3: {4: "y"}}}) == {1: {2: "x", 3: TRUNCATED}}


# --- limits ------------------------------------------------------------------------------


def _nested(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


def test_default_limits() -> None:
    """4096 characters, 100 items and 20 levels are kept whole; one more is cut."""
    redactor = Redactor()
    assert redactor.redact_text("x" * 4096) == "x" * 4096
    assert redactor.redact_text("x" * 4097) == "x" * 4096 + TRUNCATED
    assert redactor.redact_value(list(range(100))) == list(range(100))
    assert redactor.redact_value(list(range(101))) == [*range(99), TRUNCATED]
    assert redactor.redact_value(_nested(20)) == _nested(20)
    cut: object = redactor.redact_value(_nested(21))
    for _ in range(20):
        assert isinstance(cut, list)
        (cut,) = cut
    assert cut == TRUNCATED


@pytest.mark.parametrize("limits", [{"max_chars": 63}, {"max_items": 1}, {"max_depth": 0}], ids=str)
def test_limits_below_the_minimum_are_refused(limits: dict[str, int]) -> None:
    message = "max_chars >= 64, max_items >= 2 and max_depth >= 1 are required"
    with pytest.raises(ValueError, match=f"^{message}$"):
        Redactor(**limits)


def test_the_smallest_limits_work() -> None:
    tiny = Redactor(max_chars=64, max_items=2, max_depth=1)
    assert tiny.redact_value([["x"], "y", "z"]) == [TRUNCATED, TRUNCATED]


def test_the_redactor_lists_the_marker_kinds_it_writes() -> None:
    assert {"github-token", "email", "secret-field"} <= Redactor().kinds


def test_text_of_exactly_max_chars_is_not_truncated() -> None:
    small = Redactor(max_chars=64)
    assert small.redact_text("x" * 64) == "x" * 64
    assert small.redact_text("x" * 63 + "\u200b") == "x" * 63  # invisible: stripped first


def test_text_cut_before_redaction_says_so_even_when_the_rest_fits() -> None:
    """Beyond max_chars + the scan margin the input is dropped unseen: that is a truncation."""
    small = Redactor(max_chars=64)
    out = small.redact_text("password=" + "x" * 2000)
    assert out == "password=[REDACTED:secret-keyword]" + TRUNCATED


def test_a_marker_ending_exactly_at_the_limit_is_kept() -> None:
    small = Redactor(max_chars=64)
    text = "y" * 47 + " ops@example.com tail tail"  # the marker ends at character 64
    assert small.redact_text(text) == "y" * 47 + " [REDACTED:email]" + TRUNCATED
