"""Rules of our own, for the formats gitleaks knows and detect-secrets does not.

gitleaks' default rule set (``config/gitleaks.toml``) is the reference for which credential
formats must not reach a PR body (issue 12). detect-secrets' plugins cover about a third of
it; this module and `micro_gastown.evidence.secret_rules_providers` cover the rest, each rule
commented with the gitleaks rule ids it answers for. ``tests/data/secrets/gitleaks_corpus.toml``
holds an example per gitleaks rule; the tests measure the coverage and the README states it.

Here are the two shapes that need no key:

* `TokenRule`: a token whose prefix says what it is (``glsa_``, ``dop_v1_``, ``xkeysib-``),
  found anywhere. Each has a few lowercase literals; its regex runs only on text holding one.
* structural rules: PEM blocks of any kind, ``curl -u user:pass``, Kubernetes Secret
  manifests, base64-wrapped JWTs (and, as TokenRules, XML config passwords and URLs with an
  empty user).

Every pattern is linear: runs are bounded or atomic (``(?>...)``), so nothing backtracks over a
long line; the tests run each rule on a megabyte of adversarial text.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["TOKEN_RULES", "Span", "TokenRule", "extra_rules"]


@dataclass(frozen=True, slots=True)
class Span:
    """Where a secret is in the text (``text[start:end]``) and what kind it is.

    Defined here, the lower of the two rule modules, and re-exported by ``secret_rules``.
    """

    start: int
    end: int
    kind: str


class TokenRule:
    """A self-describing token: the ``secret`` group of ``pattern``, or the whole match."""

    def __init__(self, kind: str, pattern: str, literals: tuple[str, ...], flags: int = 0) -> None:
        self.kind = kind
        self.regex = re.compile(pattern, flags)
        self._literals = literals
        self._group: str | int = "secret" if "secret" in self.regex.groupindex else 0

    def find(self, text: str) -> Iterator[Span]:
        lowered = text.lower()
        if not any(literal in lowered for literal in self._literals):
            return
        for match in self.regex.finditer(text):
            if match.group(self._group):
                yield Span(*match.span(self._group), self.kind)


def _token(kind: str, pattern: str, *literals: str, flags: int = 0) -> TokenRule:
    return TokenRule(kind, pattern, literals, flags)


# Self-describing tokens, with the gitleaks rule ids each covers.
TOKEN_RULES: Final[tuple[TokenRule, ...]] = (
    # Email addresses: personal data, not credentials (no gitleaks rule). Bounded quantifiers,
    # anchored at a word start; not after ":" (except "mailto:") or "/", so the "pass@host"
    # and "token@host" of URLs stay the credential rules' and the host stays readable.
    _token(
        "email",
        r"(?:(?<=mailto:)|(?<![\w.%+:/-]))[A-Za-z0-9._%+-]{1,64}"
        r"@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24}(?![\w-])",
        "@",
    ),
    # anthropic-api-key, anthropic-admin-api-key (sk-ant-api03-..., sk-ant-admin01-...)
    _token("anthropic-api-key", r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{16,}", "sk-ant-"),
    # github-fine-grained-pat (detect-secrets knows only ghp_/gho_/ghu_/ghs_/ghr_)
    _token("github-token", r"(?<!\w)github_pat_[A-Za-z0-9_]{22,}", "github_pat_"),
    # "Bearer <token>" outside an Authorization header (those are the key rule's): at least 16
    # characters with a digit, so "bearer token expired" stays readable. (No gitleaks rule.)
    _token(
        "bearer-token",
        r"\bbearer\s+(?P<secret>(?=[A-Za-z._~+/-]{0,64}[0-9])[A-Za-z0-9._~+/-]{16,}=*)",
        "bearer",
        flags=re.IGNORECASE,
    ),
    # 1password-secret-key, 1password-service-account-token
    _token(
        "1password-secret-key",
        r"\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})(?:-[A-Z0-9]{5}){3}\b",
        "a3-",
    ),
    _token("1password-token", r"\bops_eyJ[A-Za-z0-9+/]{100,8192}={0,3}", "ops_eyj"),
    _token("adobe-client-secret", r"\bp8e-[A-Za-z0-9]{32}(?![A-Za-z0-9])", "p8e-"),
    _token(
        "age-secret-key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", "age-secret"
    ),
    _token("alibaba-access-key-id", r"\bLTAI[A-Za-z0-9]{20}\b", "ltai"),
    # artifactory-api-key, artifactory-reference-token
    _token(
        "artifactory-credentials",
        r"\b(?:AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59})\b",
        "akcp",
        "cmvmd",
    ),
    _token("atlassian-api-token", r"\bATATT3[A-Za-z0-9_=-]{186}", "atatt3"),
    # authress-service-client-access-key
    _token(
        "authress-access-key",
        r"\b(?:sc|ext|scauth|authress)_[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_-][a-z0-9-]{10,32}"
        r"\.[a-z0-9+/_=-]{30,120}",
        ".acc",
        flags=re.IGNORECASE,
    ),
    # azure-ad-client-secret
    _token(
        "azure-ad-client-secret",
        r"(?<![\w~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])",
        "q~",
    ),
    _token("clickhouse-api-key", r"\b4b1d[A-Za-z0-9]{38}\b", "4b1d"),  # clickhouse-cloud-...
    _token("clojars-api-token", r"\bCLOJARS_[a-z0-9]{60}", "clojars_", flags=re.IGNORECASE),
    _token("cloudflare-origin-ca-key", r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}", "v1.0-"),
    _token("databricks-api-token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b", "dapi"),
    _token(  # defined-networking-api-token
        "defined-networking-api-token",
        r"\bdnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52}",
        "dnkey-",
        flags=re.IGNORECASE,
    ),
    # digitalocean-access-token, digitalocean-pat, digitalocean-refresh-token
    _token("digitalocean-token", r"\bdo[opr]_v1_[a-f0-9]{64}", "_v1_", flags=re.IGNORECASE),
    _token("doppler-api-token", r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}", "dp."),
    _token("duffel-api-token", r"\bduffel_(?:test|live)_[A-Za-z0-9_=-]{43}", "duffel_"),
    _token("dynatrace-api-token", r"\bdt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}", "dt0c01."),
    # easypost-api-token, easypost-test-api-token
    _token("easypost-api-token", r"\bEZ[AT]K[A-Za-z0-9]{54}\b", "ezak", "eztk"),
    # facebook-access-token (app id|app secret), facebook-page-access-token
    _token(
        "facebook-access-token",
        r"(?<!\d)\d{15,16}(?:\||%7[Cc])[0-9A-Za-z_-]{27,40}(?![\w-])",
        "|",
        "%7c",
    ),
    _token("facebook-access-token", r"\bEAA[MC][A-Za-z0-9]{100,2048}", "eaam", "eaac"),
    # flutterwave-encryption-key, flutterwave-public-key, flutterwave-secret-key
    _token(
        "flutterwave-key",
        r"\bFLW(?:SECK|PUBK)(?:_TEST)?-[A-Za-z0-9]{12,32}(?:-X)?",
        "flwseck",
        "flwpubk",
    ),
    _token(  # flyio-access-token
        "flyio-access-token",
        r"\b(?:fo1_[\w-]{43}|fm1[ar]_[A-Za-z0-9+/]{100,8192}={0,3}|fm2_[A-Za-z0-9+/]{100,8192}={0,3})",
        "fo1_",
        "fm1",
        "fm2_",
    ),
    _token("frameio-api-token", r"\bfio-u-[A-Za-z0-9_=-]{64}", "fio-u-"),
    _token("gcp-api-key", r"\bAIza[\w-]{35}(?![\w-])", "aiza"),
    # gitlab-feature-flag-client-token, gitlab-pat-routable,
    # gitlab-runner-authentication-token-routable (detect-secrets has the other GitLab ones)
    _token(
        "gitlab-token",
        r"\b(?:glffct-[0-9A-Za-z_-]{20}|gl(?:pat|rt)-(?>[0-9A-Za-z_-]{20,300})\.[0-9a-z]{9}\b)",
        "glffct-",
        "glpat-",
        "glrt-",
    ),
    _token(  # gitlab-session-cookie
        "gitlab-session-cookie", r"\b_gitlab_session=(?P<secret>[0-9a-z]{32})", "_gitlab_session="
    ),
    # grafana-api-key, grafana-cloud-api-token, grafana-service-account-token
    _token(
        "grafana-token",
        r"\b(?:eyJrIjoi[A-Za-z0-9]{70,400}={0,3}|glc_[A-Za-z0-9+/]{32,400}={0,3}"
        r"|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
        "eyjrijoi",
        "glc_",
        "glsa_",
    ),
    _token(  # harness-api-key
        "harness-api-key",
        r"\b(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}",
        "pat.",
        "sat.",
    ),
    _token(  # hashicorp-tf-api-token
        "terraform-api-token", r"\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}", "atlasv1"
    ),
    _token("heroku-api-key", r"\bHRKU-AA[0-9A-Za-z_-]{58}", "hrku-aa"),  # heroku-api-key-v2
    # huggingface-access-token, huggingface-organization-api-token
    _token("huggingface-token", r"\b(?:hf_|api_org_)[A-Za-z]{34}\b", "hf_", "api_org_"),
    _token("infracost-api-token", r"\bico-[A-Za-z0-9]{32}\b", "ico-"),
    _token("intra42-client-secret", r"\bs-s4t2(?:ud|af)-[A-Fa-f0-9]{64}", "s-s4t2"),
    _token("linear-api-key", r"\blin_api_[A-Za-z0-9]{40}", "lin_api_"),
    _token("maxmind-license-key", r"\b[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk\b", "_mmk"),
    # new-relic-browser-api-token, new-relic-insert-key, new-relic-user-api-key
    _token(
        "new-relic-key",
        r"\b(?:NRAK-[A-Z0-9]{27}|NRII-[A-Z0-9-]{32}|NRJS-[A-F0-9]{19})(?![\w-])",
        "nrak-",
        "nrii-",
        "nrjs-",
        flags=re.IGNORECASE,
    ),
    _token("notion-api-token", r"\bntn_[0-9]{11}[A-Za-z0-9]{35}\b", "ntn_"),
    # npm-access-token (detect-secrets finds npm tokens only in .npmrc lines)
    _token("npm-tokens", r"\bnpm_[A-Za-z0-9]{36}\b", "npm_"),
    _token("octopus-deploy-api-key", r"\bAPI-[A-Z0-9]{26}\b", "api-"),
    # openai-api-key: detect-secrets' pattern covers only 20 characters after the marker,
    # leaving most of a project key (sk-proj-...) visible
    _token(
        "openai-token",
        r"\bsk-(?:(?:proj|svcacct|admin)-(?>[A-Za-z0-9_-]{20,200}?T3BlbkFJ)[A-Za-z0-9_-]{20,200}"
        r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
        "t3blbkfj",
    ),
    _token("openshift-user-token", r"\bsha256~[\w-]{43}(?![\w-])", "sha256~"),
    _token("perplexity-api-key", r"\bpplx-[A-Za-z0-9]{48}", "pplx-"),
    # planetscale-api-token, planetscale-oauth-token, planetscale-password
    _token("planetscale-token", r"\bpscale_(?:tkn|oauth|pw)_[\w=.-]{32,64}", "pscale_"),
    _token(
        "postman-api-token",
        r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}",
        "pmak-",
        flags=re.IGNORECASE,
    ),
    _token("prefect-api-token", r"\bpnu_[A-Za-z0-9]{36}", "pnu_"),
    _token("pulumi-api-token", r"\bpul-[a-f0-9]{40}", "pul-"),
    # pypi-upload-token (detect-secrets wants 70+ characters after the prefix; gitleaks 50)
    _token("pypi-token", r"\bpypi-AgEIcHlwaS5vcmc[\w-]{50,1000}", "pypi-ageichlwas5vcmc"),
    _token("readme-api-token", r"\brdme_[a-z0-9]{70}", "rdme_"),
    _token("rubygems-api-token", r"\brubygems_[a-f0-9]{48}", "rubygems_"),
    _token("scalingo-api-token", r"\btk-us-[\w-]{48}", "tk-us-"),
    _token("sendinblue-api-token", r"\bxkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}", "xkeysib-"),
    # sentry-user-token, sentry-org-token
    _token(
        "sentry-token",
        r"\b(?:sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=_]{40,2048})",
        "sntryu_",
        "sntrys_",
    ),
    # settlemint-application-access-token, -personal-access-token, -service-access-token
    _token("settlemint-token", r"\bsm_(?:aat|pat|sat)_[A-Za-z0-9]{16}\b", "sm_"),
    _token("shippo-api-token", r"\bshippo_(?:live|test)_[A-Fa-f0-9]{40}", "shippo_"),
    # shopify-access-token, -custom-access-token, -private-app-access-token, -shared-secret
    _token("shopify-token", r"\bshp(?:at|ca|pa|ss)_[A-Fa-f0-9]{32}", "shp"),
    # slack-bot-token, slack-user-token, slack-legacy-*, slack-config-*: detect-secrets' pattern
    # stops at the first capital letter; slack-app-token (xapp-) it does not know
    _token(
        "slack-token",
        r"(?<![\w.-])(?:xox(?:e\.xox[bp]|[abeoprs])-(?=[0-9A-Za-z-]{0,300}?\d)[0-9A-Za-z-]{8,300}"
        r"|xapp-\d-[0-9A-Za-z-]{10,300})",
        "xox",
        "xapp-",
    ),
    # slack-webhook-url (detect-secrets knows only /services/ URLs)
    _token(
        "slack-token",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_-]{20,200})",
        "hooks.slack.com",
    ),
    # sourcegraph-access-token (the prefixed form; a bare 40-hex value needs the keyword)
    _token(
        "sourcegraph-access-token", r"\bsgp_(?:[A-Fa-f0-9]{16}_|local_)?[A-Fa-f0-9]{40}\b", "sgp_"
    ),
    # square-access-token (detect-secrets knows only sq0csp- secrets); not inside base64 text
    _token(
        "square-access-token",
        r"(?<![\w+/=-])(?:EAAA|sq0atp-)[\w-]{22,60}(?![\w+/=-])",
        "eaaa",
        "sq0atp-",
    ),
    # stripe-access-token: test and prod keys, and keys longer than detect-secrets' 24 chars
    _token("stripe-access-key", r"\b(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}\b", "k_"),
    # twilio-api-key: detect-secrets' pattern is lowercase only
    _token("twilio-api-key", r"\bSK[0-9a-fA-F]{32}\b", "sk"),
    _token("typeform-api-token", r"\btfp_[A-Za-z0-9_.=-]{59}(?![\w.=-])", "tfp_"),
    # vault-batch-token, vault-service-token (also the legacy "s." form, with a digit)
    _token(
        "vault-token",
        r"\b(?:hvb\.[\w-]{138,300}|hvs\.[\w-]{90,120})(?![\w-])"
        r"|(?<![\w.])s\.(?=[A-Za-z]{0,23}\d)[A-Za-z0-9]{24}\b",
        "hvb.",
        "hvs.",
        "s.",
    ),
    # microsoft-teams-webhook: the path after webhookb2/ carries the secret
    _token(
        "teams-webhook",
        r"\.webhook\.office\.com/webhookb2/(?P<secret>[A-Za-z0-9@/_-]{40,400})",
        "webhook.office.com",
        flags=re.IGNORECASE,
    ),
    # sidekiq-sensitive-url: user and password are both the credential
    _token(
        "sidekiq-credentials",
        r"\bhttps?://(?P<secret>[a-f0-9]{8}:[a-f0-9]{8})@(?:gems|enterprise)\.contribsys\.com",
        "contribsys.com",
        flags=re.IGNORECASE,
    ),
    # nuget-config-password, and any <add key="...Password" value="..."/> setting
    _token(
        "config-password",
        r'<add\s+key="[^"<>]{0,40}(?:password|secret|token|apikey|api_key)"\s+'
        r'value="(?P<secret>[^"]{1,512})"',
        "<add",
        flags=re.IGNORECASE,
    ),
    # A URL with an empty user (redis://:pass@host): basic-auth needs a user name. (Connection
    # strings; no gitleaks rule.)
    _token(
        "basic-auth-credentials",
        r"\b[A-Za-z][A-Za-z0-9+.-]{0,20}://:(?P<secret>[^\s/@?#:'\"]{1,256})@",
        "://:",
    ),
)


class _FirstMatchAfter:
    """The first match of ``regex`` at or after a position, for positions that only grow.

    One search serves every later position until that match falls behind, so finding an
    end for each of many starts stays linear (a line of unterminated BEGINs is not quadratic).
    """

    def __init__(self, regex: re.Pattern[str], text: str) -> None:
        self._regex = regex
        self._text = text
        self._searched_from = -1
        self._match: re.Match[str] | None = None

    def at_or_after(self, position: int) -> re.Match[str] | None:
        stale = self._match is not None and self._match.start() < position
        if self._searched_from < 0 or stale:
            self._match = self._regex.search(self._text, position)
            self._searched_from = position
        return self._match


class PemBlockRule:
    """private-key: any ``-----BEGIN ... PRIVATE KEY-----`` block, header to END line.

    detect-secrets knows a fixed list of headers (not ``ENCRYPTED PRIVATE KEY`` nor
    ``PGP PRIVATE KEY BLOCK``). A block cut off before its END line is redacted to the end.
    Works the same whether the newlines are real or JSON-escaped (``\\n``).
    """

    kind = "private-key"
    _begin: Final = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----", re.I)
    _end: Final = re.compile(r"-----END[ A-Z0-9_-]{0,100}-----", re.I)

    def find(self, text: str) -> Iterator[Span]:
        if "-----begin" not in text.lower():
            return
        ends = _FirstMatchAfter(self._end, text)
        for begin in self._begin.finditer(text):
            end = ends.at_or_after(begin.end())
            yield Span(begin.start(), end.end() if end else len(text), self.kind)


class CurlUserRule:
    """curl-auth-user: ``curl ... -u user:password`` redacts the password.

    With no password (``-u sk_test_abc:``, a token passed as the user name) the user part is
    the secret. Only on a line that runs curl: ``docker run -u 1000:1000`` is a uid.
    """

    kind = "curl-credentials"
    _curl: Final = re.compile(r"\bcurl\b")
    _flag: Final = re.compile(
        r"(?<![\w-])(?:-u|--user)(?:=|[ \t]{1,5})[\"']?"
        r"(?P<user>[^\s\"':]{0,128}):(?P<password>[^\s\"']{0,512})"
    )

    def find(self, text: str) -> Iterator[Span]:
        if "curl" not in text:
            return
        curls = [match.start() for match in self._curl.finditer(text)]
        newlines = [index for index, char in enumerate(text) if char == "\n"]
        for match in self._flag.finditer(text):
            before = bisect.bisect_right(curls, match.start()) - 1
            if before < 0:
                continue
            next_newline = bisect.bisect_right(newlines, curls[before])
            if next_newline < len(newlines) and newlines[next_newline] < match.start():
                continue  # that curl ran on an earlier line
            group = "password" if match.group("password") else "user"
            if len(match.group(group)) >= 3:
                yield Span(*match.span(group), self.kind)


class KubernetesSecretRule:
    """kubernetes-secret-yaml: the values under ``data:`` of a ``kind: Secret`` manifest."""

    kind = "kubernetes-secret"
    _kind: Final = re.compile(r"\bkind:[ \t]*[\"']?Secret\b", re.I)
    _data: Final = re.compile(r"\b(?:data|stringData):")
    _value: Final = re.compile(
        r"(?:(?<=\n)|(?<=\\n))[ \t]+[\w.-]{1,253}:[ \t]*[\"']?"
        r"(?P<secret>(?>[^\s\"'\\]{1,8192}))[\"']?[ \t]*(?=\r?\n|\\[rn]|$)"
    )

    def find(self, text: str) -> Iterator[Span]:
        data = self._data.search(text)
        if data is None or self._kind.search(text) is None:
            return
        for match in self._value.finditer(text, data.end()):
            yield Span(*match.span("secret"), self.kind)


class Base64JwtRule:
    """jwt-base64: a JSON Web Token wrapped in base64 (``ZXlK...`` decodes to ``eyJ...``).

    The candidate is decoded and kept only if it holds a JWT, so other base64 text that
    happens to start the same way stays visible.
    """

    kind = "json-web-token"
    _candidate: Final = re.compile(r"\bZXlK(?>[A-Za-z0-9+/_-]{40,8192})={0,2}")
    _jwt: Final = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}")

    def find(self, text: str) -> Iterator[Span]:
        for match in self._candidate.finditer(text):
            if self._holds_jwt(match.group()):
                yield Span(*match.span(), self.kind)

    def _holds_jwt(self, value: str) -> bool:
        padded = value.replace("-", "+").replace("_", "/").rstrip("=")
        padded += "=" * (-len(padded) % 4)
        try:
            decoded = base64.b64decode(padded, validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return self._jwt.match(decoded) is not None


ExtraRule = TokenRule | PemBlockRule | CurlUserRule | KubernetesSecretRule | Base64JwtRule


def extra_rules() -> tuple[ExtraRule, ...]:
    """Every rule of this module, for `micro_gastown.evidence.secret_rules.default_rules`."""
    structural = (PemBlockRule(), CurlUserRule(), KubernetesSecretRule(), Base64JwtRule())
    return (*TOKEN_RULES, *structural)
