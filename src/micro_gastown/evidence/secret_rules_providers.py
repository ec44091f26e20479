"""gitleaks' keyword rules: a provider's credential known by the key it is assigned to.

Many providers' secrets have no telling prefix (a Discord client secret is 32 random
characters), so gitleaks recognises them only after a key that names the provider
(``DISCORD_CLIENT_SECRET=...``, ``"twitter_consumer": "..."``) and only when the value has the
provider's exact shape. `ProviderKeyRule` does the same in text; `names_provider_credential`
is the same test for a JSON field, so text and data agree. Prefixed forms of the same
providers are `micro_gastown.evidence.secret_rules_extra.TokenRule`s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Final

from micro_gastown.evidence.secret_rules_extra import Span

__all__ = ["PROVIDER_RULES", "ProviderKeyRule", "names_a_provider", "names_provider_credential"]


# Characters a provider value may hold (the union of the shapes below); the value is the whole
# run, so a shape's length is exact, as gitleaks' trailing delimiter makes it.
_VALUE_CHARS: Final = r"[\w.=+/%:~-]"


class ProviderKeyRule:
    """gitleaks' keyword rules: ``<key naming the provider> <separator> <value of its shape>``.

    The key part is gitleaks': the provider word, then up to 20 word characters, spaces, dots
    or dashes (``twitter_consumer_secret``, ``Discord client``), optional quotes (also
    JSON-escaped ones), then one of ``= : := => ?= || > ,``.
    """

    def __init__(self, kind: str, keywords: tuple[str, ...], shapes: tuple[str, ...]) -> None:
        self.kind = kind
        self.keywords = keywords
        self.shapes = tuple(re.compile(shape, re.IGNORECASE) for shape in shapes)
        words = "|".join(re.escape(keyword) for keyword in keywords)
        self.regex = re.compile(
            rf"(?:{words})[ \t\w.-]{{0,20}}?[ \t'\"\\]{{0,4}}(?:=>|:{{1,3}}=|\?=|\|\||[=>:,])"
            rf"[`'\" \t=\\]{{0,6}}(?P<secret>(?>{_VALUE_CHARS}{{1,400}}))(?!{_VALUE_CHARS})",
            re.IGNORECASE,
        )

    def find(self, text: str) -> Iterator[Span]:
        lowered = text.lower()
        if not any(keyword in lowered for keyword in self.keywords):
            return
        position = 0
        while (match := self.regex.search(text, position)) is not None:
            if self.fits(match.group("secret")):
                yield Span(*match.span("secret"), self.kind)
                position = match.end()
            else:  # the key may come later: "codecov upload failed: CODECOV_TOKEN=..."
                position = match.start() + 1

    def names(self, key: str) -> bool:
        lowered = key.lower()
        return any(keyword in lowered for keyword in self.keywords)

    def fits(self, value: str) -> bool:
        return any(shape.fullmatch(value) for shape in self.shapes)


_UUID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# gitleaks' keyword rules as (provider, key words "a|b", value shapes "s1 s2"), case-insensitive;
# the comment names the gitleaks rule ids. Prefixed forms of the same providers are TokenRules.
_PROVIDERS: Final[tuple[tuple[str, str, str], ...]] = (
    ("adafruit", "adafruit", r"[a-z0-9_-]{32}"),  # adafruit-api-key
    ("adobe", "adobe", r"[a-f0-9]{32}"),  # adobe-client-id
    ("airtable", "airtable", r"[a-z0-9]{17}"),  # airtable-api-key
    ("algolia", "algolia", r"[a-z0-9]{32}"),  # algolia-api-key
    ("alibaba", "alibaba", r"[a-z0-9]{30}"),  # alibaba-secret-key
    ("asana", "asana", r"[0-9]{16} [a-z0-9]{32}"),  # asana-client-id, asana-client-secret
    ("atlassian", "atlassian|confluence|jira", r"[a-z0-9]{20}[a-f0-9]{4}"),  # atlassian-api-token
    ("beamer", "beamer", r"b_[a-z0-9=_-]{44}"),  # beamer-api-token
    ("bitbucket", "bitbucket", r"[a-z0-9]{32} [a-z0-9=_-]{64}"),  # bitbucket-client-id, -secret
    ("bittrex", "bittrex", r"[a-z0-9]{32}"),  # bittrex-access-key, bittrex-secret-key
    ("meraki", "meraki", r"[0-9a-f]{40}"),  # cisco-meraki-api-key
    ("cloudflare", "cloudflare", r"[a-z0-9_-]{40} [a-f0-9]{37}"),  # cloudflare-(global-)api-key
    ("codecov", "codecov", r"[a-z0-9]{32}"),  # codecov-access-token
    ("cohere", "cohere|co_api_key", r"[a-z0-9]{40}"),  # cohere-api-token
    ("coinbase", "coinbase", r"[a-z0-9_-]{64}"),  # coinbase-access-token
    ("confluent", "confluent", r"[a-z0-9]{16} [a-z0-9]{64}"),  # confluent-access-token, -secret-key
    ("contentful", "contentful", r"[a-z0-9=_-]{43}"),  # contentful-delivery-api-token
    ("datadog", "datadog", r"[a-z0-9]{40}"),  # datadog-access-token
    # discord-api-token, discord-client-id, discord-client-secret
    ("discord", "discord", r"[a-f0-9]{64} [0-9]{18} [a-z0-9=_-]{32}"),
    ("droneci", "droneci", r"[a-z0-9]{32}"),  # droneci-access-token
    # dropbox-api-token, dropbox-long-lived-api-token, dropbox-short-lived-api-token
    ("dropbox", "dropbox", r"[a-z0-9]{15} [a-z0-9]{11}A{10}[a-z0-9_=-]{43} sl\.[a-z0-9=_-]{135}"),
    ("etsy", "etsy", r"[a-z0-9]{24}"),  # etsy-access-token
    ("facebook", "facebook", r"[a-f0-9]{32}"),  # facebook-secret
    ("fastly", "fastly", r"[a-z0-9=_-]{32}"),  # fastly-api-token
    ("finicity", "finicity", r"[a-f0-9]{32} [a-z0-9]{20}"),  # finicity-api-token, -client-secret
    ("finnhub", "finnhub", r"[a-z0-9]{20}"),  # finnhub-access-token
    ("flickr", "flickr", r"[a-z0-9]{32}"),  # flickr-access-token
    ("freshbooks", "freshbooks", r"[a-z0-9]{64}"),  # freshbooks-access-token
    ("gitter", "gitter", r"[a-z0-9_-]{40}"),  # gitter-access-token
    ("gocardless", "gocardless", r"live_[a-z0-9_=-]{40}"),  # gocardless-api-token
    ("heroku", "heroku", _UUID),  # heroku-api-key
    ("hubspot", "hubspot", _UUID),  # hubspot-api-key
    ("intercom", "intercom", r"[a-z0-9=_-]{60}"),  # intercom-api-key
    # jfrog-api-key, jfrog-identity-token
    ("jfrog", "jfrog|artifactory|bintray|xray", r"[a-z0-9]{73} [a-z0-9]{64}"),
    ("kraken", "kraken", r"[a-z0-9/=_+-]{80,90}"),  # kraken-access-token
    ("kucoin", "kucoin", rf"[a-f0-9]{{24}} {_UUID}"),  # kucoin-access-token, kucoin-secret-key
    ("launchdarkly", "launchdarkly", r"[a-z0-9=_-]{40}"),  # launchdarkly-access-token
    ("linear", "linear", r"[a-f0-9]{32}"),  # linear-client-secret
    # linkedin-client-id, linkedin-client-secret
    ("linkedin", "linkedin|linked_in|linked-in", r"[a-z0-9]{14} [a-z0-9]{16}"),
    # lob-api-key, lob-pub-api-key
    ("lob", "lob", r"(?:live|test)_[a-f0-9]{35} (?:live|test)_pub_[a-f0-9]{31}"),
    ("mailchimp", "mailchimp", r"[a-f0-9]{32}-us\d\d"),  # mailchimp-api-key
    # mailgun-private-api-token, mailgun-pub-key, mailgun-signing-key
    (
        "mailgun",
        "mailgun",
        r"key-[a-f0-9]{32} pubkey-[a-f0-9]{32} [a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}",
    ),
    ("mapbox", "mapbox", r"pk\.[a-z0-9]{60}\.[a-z0-9]{22}"),  # mapbox-api-token
    ("mattermost", "mattermost", r"[a-z0-9]{26}"),  # mattermost-access-token
    # messagebird-api-token, messagebird-client-id
    ("messagebird", "messagebird|message-bird|message_bird", rf"[a-z0-9]{{25}} {_UUID}"),
    ("netlify", "netlify", r"[a-z0-9=_-]{40,46}"),  # netlify-access-token
    ("new-relic", "new-relic|newrelic|new_relic", r"[a-z0-9]{64}"),  # new-relic-user-api-id
    ("nytimes", "nytimes|new-york-times|newyorktimes", r"[a-z0-9=_-]{32}"),  # nytimes-access-token
    ("okta", "okta", r"00[\w=-]{40}"),  # okta-access-token
    # plaid-api-token, plaid-client-id, plaid-secret-key
    (
        "plaid",
        "plaid",
        rf"access-(?:sandbox|development|production)-{_UUID} [a-z0-9]{{24}} [a-z0-9]{{30}}",
    ),
    ("privateai", "privateai|private_ai|private-ai", r"[a-z0-9]{32}"),  # privateai-api-token
    ("rapidapi", "rapidapi", r"[a-z0-9_-]{50}"),  # rapidapi-access-token
    ("sendbird", "sendbird", rf"{_UUID} [a-f0-9]{{40}}"),  # sendbird-access-id, -access-token
    ("sentry", "sentry", r"[a-f0-9]{64}"),  # sentry-access-token
    # sidekiq-secret
    (
        "sidekiq",
        "bundle_enterprise__contribsys__com|bundle_gems__contribsys__com",
        r"[a-f0-9]{8}:[a-f0-9]{8}",
    ),
    ("snyk", "snyk", _UUID),  # snyk-api-token
    ("sonar", "sonar", r"[a-z0-9=_-]{40}"),  # sonar-api-token
    ("sourcegraph", "sourcegraph", r"[a-f0-9]{40}"),  # sourcegraph-access-token (bare form)
    ("squarespace", "squarespace", _UUID),  # squarespace-access-token
    ("sumologic", "sumo", r"su[a-z0-9]{12} [a-z0-9]{64}"),  # sumologic-access-id, -access-token
    ("telegram", "telegr", r"[0-9]{5,16}:A[a-z0-9_-]{34}"),  # telegram-bot-api-token
    ("travis", "travis", r"[a-z0-9]{22}"),  # travisci-access-token
    ("twitch", "twitch", r"[a-z0-9]{30}"),  # twitch-api-token
    # twitter-access-secret, -access-token, -api-key, -api-secret, -bearer-token
    (
        "twitter",
        "twitter",
        r"[a-z0-9]{45} [0-9]{15,25}-[a-z0-9]{20,40} [a-z0-9]{25} [a-z0-9]{50}"
        r" A{22}[a-z0-9%]{80,100}",
    ),
    ("typeform", "typeform", r"tfp_[a-z0-9_.=-]{59}"),  # typeform-api-token
    # yandex-access-token, yandex-api-key, yandex-aws-access-token
    (
        "yandex",
        "yandex",
        r"t1\.[a-z0-9_-]+={0,2}\.[a-z0-9_-]{86}={0,2} AQVN[a-z0-9_-]{35,38} YC[a-z0-9_-]{38}",
    ),
    ("zendesk", "zendesk", r"[a-z0-9]{40}"),  # zendesk-secret-key
)
PROVIDER_RULES: Final = tuple(
    ProviderKeyRule(f"{name}-credential", tuple(words.split("|")), tuple(shapes.split(" ")))
    for name, words, shapes in _PROVIDERS
)


# Every provider word, for a quick test of a key before any shape is tried.
_ANY_PROVIDER_WORD: Final = re.compile(
    "|".join(re.escape(word) for rule in PROVIDER_RULES for word in rule.keywords)
)


def names_a_provider(key: str) -> bool:
    """Whether ``key`` names a provider of `PROVIDER_RULES` (``DISCORD_CLIENT``)."""
    return _ANY_PROVIDER_WORD.search(key.lower()) is not None


@functools.lru_cache(maxsize=1024)
def _rules_naming(key: str) -> tuple[ProviderKeyRule, ...]:
    # Cached: logs repeat the same few keys, and a JSON event is checked key by key.
    if not names_a_provider(key):
        return ()
    return tuple(rule for rule in PROVIDER_RULES if rule.names(key))


def names_provider_credential(key: str, value: str) -> bool:
    """Whether ``value`` under ``key`` is a provider credential (the JSON side of the rules)."""
    return any(rule.fits(value) for rule in _rules_naming(key))
