"""LogQL built for findings: quoting, regexes from templates, selectors."""

from __future__ import annotations

import re

import pytest

from micro_gastown.cli.flags import worded
from micro_gastown.errors import ConfigError
from micro_gastown.logql import LogQL, escape_regex, quote, quote_regex, template_regex


def test_quote_escapes_backslashes_quotes_and_newlines() -> None:
    assert quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'


def test_template_regex_matches_its_messages_and_only_them() -> None:
    pattern = template_regex("payment (gw) timeout after <*> ms for order <*>")
    assert re.fullmatch(pattern, "payment (gw) timeout after 300 ms for order 12")
    assert not re.fullmatch(pattern, "payment gw timeout after 300 ms for order 12")
    assert "\\ " not in pattern  # RE2 rejects an escaped space; only specials are escaped


def test_regex_quoting_falls_back_when_a_backtick_is_inside() -> None:
    assert quote_regex("a.*b") == "`a.*b`"
    assert quote_regex("a`b") == '"a`b"'


def test_queries_narrow_the_configured_selector() -> None:
    logql = LogQL('{job="tidepool-native", cluster="eu"}')
    assert logql.stream("error") == '{job="tidepool-native", cluster="eu", event_type="error"}'
    assert logql.stream("graph_transition", "error") == (
        '{job="tidepool-native", cluster="eu", event_type=~"graph_transition|error"}'
    )
    assert logql.transition_with_errors("route", 'we"ird').endswith(
        '| type="error" or (from="route" and to="we\\"ird")'
    )


@pytest.mark.parametrize("selector", ["job=x", "{}", "", "{job='x'"])
def test_bad_selectors_are_config_errors(selector: str) -> None:
    with pytest.raises(ConfigError) as caught:
        LogQL(selector)
    assert worded(caught.value).startswith(f"--selector {selector!r}: expected a LogQL")


def test_without_the_event_type_label_kinds_are_selected_by_a_line_filter() -> None:
    logql = LogQL('{job="exomonad-native"}', by_label=False)
    assert logql.stream("error") == '{job="exomonad-native"} |~ `"type"\\s*:\\s*"error"`'
    pattern = logql.stream("graph_transition", "error").split("`")[1]
    assert re.search(pattern, '{"type": "error", "message": "x"}')
    assert re.search(pattern, '{"type":"graph_transition","from":"a","to":"b"}')
    assert not re.search(pattern, '{"type":"llm_call","model":"error"}')
    # Every query built on it stays valid LogQL: the filter sits before the parser stage.
    assert logql.transition("a", "b").startswith(logql.stream("graph_transition") + " | json")


def test_escape_regex_matches_the_text_itself() -> None:
    text = "sess a.b|c (1)+[x]"
    pattern = escape_regex(text)
    assert re.fullmatch(pattern, text)
    assert not re.fullmatch(pattern, "sess aXb|c (1)+[x]")
    assert "\\ " not in pattern
