"""Masking variable parts of messages before clustering (clustering.masking).

Raw text next to the masked text it must become, Drain3's own test style.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from micro_gastown.clustering import WILDCARD, Masker, to_wildcards


@pytest.fixture(scope="module")
def masker() -> Masker:
    return Masker()


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        # numbers: ints, floats, negatives, exponents, versions
        (
            "payment gateway timeout after 30000 ms for order 12345",
            "payment gateway timeout after <NUM> ms for order <NUM>",
        ),
        ("x=-5 y=+3.5 z=1e-3 upgraded to 1.2.3.", "x=<NUM> y=<NUM> z=<NUM> upgraded to <NUM>."),
        ("worker-7 node_3 range 1-5", "worker-<NUM> node_<NUM> range <NUM>-<NUM>"),
        ("v2 3rd 2x stays", "v2 3rd 2x stays"),
        # URLs, before paths and numbers
        ("GET https://api.example.com/v1/items?page=2, then retry.", "GET <URL>, then retry."),
        ("s3://bucket/key/2024/06/01.json uploaded", "<URL> uploaded"),
        # emails
        ("mail bob.smith@example.com failed", "mail <EMAIL> failed"),
        # timestamps
        ("at 2024-06-01T12:30:45.123Z", "at <TIMESTAMP>"),
        ("at 2024-06-01 12:30:45+02:00 and 2024-06-01", "at <TIMESTAMP> and <TIMESTAMP>"),
        ("clock 12:30:45,5 drift", "clock <TIMESTAMP> drift"),
        # UUIDs and hex ids
        ("request 3fa85f64-5717-4562-b3fc-2c963f66afa6 failed", "request <UUID> failed"),
        ("span 4bf92f3577b34da6 parent 0x1F", "span <HEX> parent <HEX>"),
        ("commit 9FCEB02D0AE598E9 req_4bf92f3577b3", "commit <HEX> req_<HEX>"),
        ("deadbeef and facade stay", "deadbeef and facade stay"),
        # IP addresses
        ("connect 10.0.3.17:6379 refused", "connect <IP> refused"),
        ("bind fe80::1 and ::1 and 2001:db8::8a2e:370:7334", "bind <IP> and <IP> and <IP>"),
        # paths
        ("open /home/runner/work/app/src/Handlers.hs failed", "open <PATH> failed"),
        ("read ./cfg, ~/x/y and ../up", "read <PATH>, <PATH> and <PATH>"),
        (r"open C:\Users\bob\notes.txt failed", "open <PATH> failed"),
        ("template templates/process.jinja missing", "template <PATH> missing"),
        ("route /health and and/or stay", "route /health and and/or stay"),
        # quoted values
        ("key 'user_id' not found in \"my doc.txt\"", "key <QUOTED> not found in <QUOTED>"),
        ("can't open the users' files", "can't open the users' files"),
        (
            '{"type": "error", "tags": ["a", "b"]}',
            '{"type": <QUOTED>, "tags": [<QUOTED>, <QUOTED>]}',
        ),
        ("{'code': 7, 'kind': 'x'}", "{'code': <NUM>, 'kind': <QUOTED>}"),
        ("for field 'f1': expected \"x1\"", "for field <QUOTED>: expected <QUOTED>"),
        # durations
        (
            "took 300ms, then 1.5s, 2m30s and 1h2m3s",
            "took <DURATION>, then <DURATION>, <DURATION> and <DURATION>",
        ),
        # dates with a month's name (syslog, ctime, access logs), nginx's slashed dates
        ("Jun  4 15:16:01 web03 sshd[7]: x", "<TIMESTAMP> web03 sshd[<NUM>]: x"),
        ("[Wed Oct 11 14:32:52.123456 2024] [core:error]", "[<TIMESTAMP>] [core:error]"),
        ("[10/Oct/2024:13:55:36 -0700] ok", "[<TIMESTAMP>] ok"),
        ("2024/06/14 15:16:01 [error]", "<TIMESTAMP> [error]"),
        ("May be late by May 3", "May be late by May <NUM>"),
        # host names with an optional port; dotted code names stay
        (
            "connect web-1.svc.cluster.local:8080 and api.example.com failed",
            "connect <HOST> and <HOST> failed",
        ),
        (
            "java.net.ConnectException at ip-10-0-1-2.ec2.internal.",
            "java.net.ConnectException at <HOST>.",
        ),
        ("self.app and settings.local.json stay", "self.app and settings.local.json stay"),
        # Windows directories may hold spaces
        (r"run C:\Program Files (x86)\Fabrikam Sync\bin\sync.exe now", "run <PATH> now"),
        # a quoted constant message (klog) stays; a key's quoted value is masked
        (
            'x.go:1] "Error syncing pod, skipping" err="failed to pull image" pod="a/b"',
            'x.go:<NUM>] "Error syncing pod, skipping" err=<QUOTED> pod=<QUOTED>',
        ),
        # nothing variable
        ("schema validation failed", "schema validation failed"),
        ("Haskell foo :: Int -> Int", "Haskell foo :: Int -> Int"),
        ("", ""),
    ],
)
def test_mask(masker: Masker, raw: str, masked: str) -> None:
    assert masker.mask(raw) == masked


def test_to_wildcards_writes_every_placeholder_as_star(masker: Masker) -> None:
    masked = masker.mask("user a@b.io hit https://x.io at 2024-06-01 in 5ms, id 42")
    assert to_wildcards(masked) == "user <*> hit <*> at <*> in <*>, id <*>"
    assert WILDCARD == "<*>"


def test_only_known_placeholders_become_wildcards() -> None:
    assert to_wildcards("List<String> and <NUM>") == "List<String> and <*>"


_WORDS = st.lists(
    st.sampled_from(["payment", "gateway", "timeout", "for", "order", "node", "failed:", "at"]),
    min_size=1,
    max_size=6,
)
_VALUES = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda f: f"{f:.3f}"),
    st.uuids().map(str),
    st.integers(min_value=2**40, max_value=2**64 - 1).map(lambda n: f"{n:016x}"),
    st.ip_addresses(v=4).map(str),
    st.integers(min_value=1, max_value=10**6).map(lambda n: f"{n}ms"),
    st.text(alphabet="abcdefgh xyz", min_size=1, max_size=20).map(lambda t: f"'{t}'"),
    st.from_regex(r"[a-z][a-z0-9._+-]{0,10}@[a-z0-9-]{1,10}\.(com|org|io)", fullmatch=True),
)


@given(_WORDS, _WORDS, _VALUES, _VALUES)
def test_messages_differing_only_in_values_mask_alike(
    before: list[str], after: list[str], one: str, other: str
) -> None:
    """The property Drain relies on: whatever the values, the masked text is the same."""
    masker = Masker()
    first = masker.mask(" ".join([*before, one, *after]))
    second = masker.mask(" ".join([*before, other, *after]))
    assert to_wildcards(first) == to_wildcards(second)


@given(st.text(max_size=200))
def test_masking_never_fails(text: str) -> None:
    Masker().mask(text)


@pytest.mark.parametrize(
    "unit", ["a", "1", "1.", "a/", "/a", "'a", '"a', "a@", "1:", "::1", "1-", "a/b.c", "{'", "ff"]
)
def test_long_near_matches_mask_quickly(masker: Masker, unit: str) -> None:
    """No catastrophic backtracking: 50k characters of near-matches mask in well under 1 s."""
    import time

    start = time.perf_counter()
    masker.mask(unit * (50_000 // len(unit)))
    assert time.perf_counter() - start < 1
