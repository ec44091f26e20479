"""LogQL built for findings: quoting, regexes from templates, selectors."""

from __future__ import annotations

import re

import pytest

from micro_gastown.errors import ConfigError
from micro_gastown.logql import LogQL, quote, quote_regex, template_regex


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
    with pytest.raises(ConfigError, match="--selector"):
        LogQL(selector)
