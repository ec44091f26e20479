"""GitHubSim: a GitHub-compatible server on 127.0.0.1 for one repository.

REST under ``/api/v3`` (PyGithub's ``base_url`` for GitHub Enterprise), git smart HTTP
under ``/{owner}/{name}.git``, one real bare repository behind both. Besides serving, it
offers the test the things only GitHub's other users do: a maintainer merging or closing a
PR, a human pushing a commit to our branch or editing labels, scripted faults; and it keeps
a log of every request and the contract check's findings.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import shapes
from .contract import Contract
from .faults import Fault, FaultKind, FaultQueue
from .gitstore import GitStore, Person
from .replies import Reply
from .server import GitHubHandler
from .state import Account, AccountKind, Comment, Label, Pull, now_iso
from localserver import BackgroundServer

__all__ = ["Exchange", "GitHubSim"]


@dataclass
class Exchange:
    """One request as the sim saw it (``headers`` never hold Authorization)."""

    method: str
    path: str
    query: str
    json: Any
    headers: dict[str, str]
    arrived: float
    """``time.time()`` when the request line was read."""
    git: bool = False
    status: int | None = None
    answered: float | None = None
    """``time.time()`` just before the answer's first byte was written, set once the whole
    answer was (None: the connection was dropped). The client cannot have read it earlier."""
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    fault: FaultKind | None = None
    authorization: str | None = field(default=None, repr=False)
    """The Authorization scheme only (``token``, ``Bearer``, ``Basic``), never its value."""


def _token(prefix: str) -> str:
    return prefix + secrets.token_hex(18)


class GitHubSim(BackgroundServer):
    """Serves ``owner/name``; see the module docstring. Start with ``with`` or start()."""

    handler = GitHubHandler

    def __init__(
        self,
        root: Path,
        *,
        owner: str = "acme",
        name: str = "agents",
        default_branch: str = "main",
        seed: Path | None = None,
        contract: Contract | None = None,
    ) -> None:
        super().__init__()
        self.owner_login, self.name, self.default_branch = owner, name, default_branch
        self.git_root = root / "git"
        self.git = GitStore(self.git_root / owner / f"{name}.git")
        self.contract = contract
        self.lock = threading.RLock()
        self.faults = FaultQueue()
        self.log: list[Exchange] = []
        self.accounts: dict[str, Account] = {}
        self.labels: dict[str, Label] = {}
        self.pulls: dict[int, Pull] = {}
        self.verified: set[str] = set()
        self.response_hook: Callable[[str, str, Reply], Reply] | None = None
        """Test-only: rewrite a reply before it is sent (``(method, api_path, reply)``), to
        show the contract check catches a wrong shape."""
        self._numbers = iter(range(1, 1_000_000))
        self.add_account(Account(owner, _token("ghp_"), kind=AccountKind.ORGANIZATION))
        self.add_account(Account("alice", _token("ghp_"), name="Alice Maintainer"))
        self.add_account(Account("bob", _token("ghp_"), name="Bob Reviewer"))
        self.add_account(
            Account("micro-gastown[bot]", _token("ghs_"), kind=AccountKind.BOT, installation=True)
        )
        self.add_account(
            Account("github-actions[bot]", _token("ghs_"), kind=AccountKind.BOT, installation=True)
        )
        self.add_account(Account("mallory", _token("ghp_"), collaborator=False))
        self.add_account(Account("reader", _token("github_pat_"), read_only=True))
        self.git.init(default_branch)
        self._seed(seed)

    # -- setup ----------------------------------------------------------------------------

    def add_account(self, account: Account) -> Account:
        self.accounts[account.login] = account
        return account

    def token(self, login: str) -> str:
        return self.accounts[login].token

    def account_for_token(self, token: str) -> Account | None:
        for account in self.accounts.values():
            if secrets.compare_digest(account.token.encode(), token.encode()):
                return account
        return None

    def _seed(self, seed: Path | None) -> None:
        alice = self.accounts["alice"]
        person = Person(alice.name, alice.email, "2024-05-01T12:00:00Z")
        if seed is None:
            seed = self.git_root / "default-seed"
            (seed / "src").mkdir(parents=True)
            (seed / "README.md").write_text("# agents\n")
            (seed / "src" / "Graph.hs").write_text("module Graph where\n")
        self.git.seed(seed, self.default_branch, "Initial commit\n", person)

    # -- where things are -----------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """PyGithub's ``base_url``: ``http://127.0.0.1:PORT/api/v3``."""
        return f"{self.url}/api/v3"

    @property
    def clone_url(self) -> str:
        """``http://127.0.0.1:PORT/owner/name.git`` (no credentials in it)."""
        return f"{self.url}/{self.owner_login}/{self.name}.git"

    @property
    def full_name(self) -> str:
        return f"{self.owner_login}/{self.name}"

    @property
    def urls(self) -> shapes.Urls:
        return shapes.Urls(self.api_url, self.url, self.owner_login, self.name)

    def next_number(self) -> int:
        return next(self._numbers)

    def head_label(self, pull: Pull) -> str:
        return f"{pull.head_repo.split('/', 1)[0]}:{pull.head_ref}"

    def branch(self, name: str) -> str | None:
        return self.git.ref(f"refs/heads/{name}")

    # -- JSON ------------------------------------------------------------------------------

    def user_json(self, login: str) -> dict[str, Any]:
        return shapes.user(self.urls, self.accounts[login])

    def private_user_json(self, account: Account) -> dict[str, Any]:
        return shapes.private_user(self.urls, account)

    def label_json(self, name: str) -> dict[str, Any]:
        return shapes.label(self.urls, self.labels[name])

    def repo_json(self) -> dict[str, Any]:
        owner = self.accounts[self.owner_login]
        return shapes.repository(self.urls, owner, self.default_branch, full=True)

    def pull_json(self, pull: Pull, *, full: bool) -> dict[str, Any]:
        return shapes.pull(
            self.urls,
            pull,
            accounts=self.accounts,
            labels=self.labels,
            owner=self.accounts[self.owner_login],
            default_branch=self.default_branch,
            head_sha=self.pull_head(pull),
            full=full,
            git=self.git,
        )

    def pull_head(self, pull: Pull) -> str:
        """An open PR follows its branch; a closed one keeps the head it closed with."""
        if pull.state == "open" and pull.head_repo == self.full_name:
            pull.head_sha = self.branch(pull.head_ref) or pull.head_sha
        return pull.head_sha

    def comment_json(self, item: Comment, number: int) -> dict[str, Any]:
        return shapes.comment(self.urls, item, number, self.accounts[item.author])

    def ref_json(self, name: str, sha: str) -> dict[str, Any]:
        return shapes.ref(self.urls, name, sha)

    def tree_json(self, sha: str) -> dict[str, Any]:
        return shapes.tree(self.urls, sha, self.git.tree_items(sha))

    def git_commit_json(self, sha: str) -> dict[str, Any]:
        return shapes.git_commit(self.urls, self.git.commit(sha), verified=sha in self.verified)

    def commit_json(self, sha: str) -> dict[str, Any]:
        info = self.git.commit(sha)
        return shapes.commit(
            self.urls,
            info,
            author=self.account_by_email(info.author.email),
            committer=self.account_by_email(info.committer.email),
            verified=sha in self.verified,
        )

    def account_by_email(self, email: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.email == email), None)

    # -- what other people do --------------------------------------------------------------

    def fault(
        self,
        kind: FaultKind,
        *,
        times: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        retry_after_s: int = 1,
        reset_in_s: int = 1,
    ) -> Fault:
        """The next ``times`` requests matching ``method`` and ``path_contains`` fail so."""
        fault = Fault(kind, times, method, path_contains, retry_after_s, reset_in_s)
        self.faults.add(fault)
        return fault

    def mergeable(self, pull: Pull) -> bool:
        """Whether the PR's head merges into its base branch without conflicts."""
        with self.lock:
            base = self.branch(pull.base_ref)
            return base is not None and self.git.merge_tree(base, self.pull_head(pull)) is not None

    def merge(
        self,
        number: int,
        *,
        by: str = "alice",
        title: str | None = None,
        message: str | None = None,
    ) -> str:
        """A maintainer (or ``PUT .../merge`` as ``by``) merges the PR: a real merge commit
        on the base branch, whose message is ``title`` (GitHub's "Merge pull request #N from
        owner/branch" when None) and ``message`` (the PR's title when None)."""
        with self.lock:
            pull = self.pulls[number]
            assert pull.state == "open", f"PR #{number} is {pull.state}"
            base, head = self.branch(pull.base_ref), self.pull_head(pull)
            assert base is not None
            tree = self.git.merge_tree(base, head)
            assert tree is not None, f"PR #{number} conflicts with {pull.base_ref}"
            account, now = self.accounts[by], now_iso()
            head_owner = pull.head_repo.split("/", 1)[0]
            title = title or f"Merge pull request #{number} from {head_owner}/{pull.head_ref}"
            detail = pull.title if message is None else message
            message = f"{title}\n\n{detail}\n" if detail else f"{title}\n"
            person = Person(account.name, account.email, now)
            committer = Person("GitHub", "noreply@github.com", now)
            sha = self.git.write_commit(tree, (base, head), message, person, committer)
            self.git.set_ref(f"refs/heads/{pull.base_ref}", sha)
            self.verified.add(sha)
            pull.state, pull.merged_at, pull.closed_at = "closed", now, now
            pull.merged_by, pull.merge_commit_sha = by, sha
            pull.touch()
            return sha

    def close(self, number: int) -> None:
        """A maintainer closes the PR without merging."""
        with self.lock:
            pull = self.pulls[number]
            self.pull_head(pull)
            pull.state, pull.closed_at = "closed", now_iso()
            pull.touch()

    def add_commit(
        self,
        branch: str,
        files: Mapping[str, str | bytes | None],
        *,
        login: str | None = "alice",
        email: str | None = None,
        message: str = "a human's change\n",
    ) -> str:
        """A commit on top of ``branch`` (made from the default branch if new) by ``login``
        (or by a bare ``email`` no account has); ``None`` as content deletes the file."""
        with self.lock:
            parent = self.branch(branch) or self.branch(self.default_branch)
            assert parent is not None
            entries = [
                (
                    path,
                    "100644",
                    None
                    if data is None
                    else self.git.write_blob(data.encode() if isinstance(data, str) else data),
                )
                for path, data in files.items()
            ]
            tree = self.git.write_tree(self.git.commit(parent).tree, entries)
            account = self.accounts[login] if login else None
            person = Person(
                account.name if account else "someone",
                email or (account.email if account else "someone@example.com"),
                now_iso(),
            )
            sha = self.git.write_commit(tree, (parent,), message, person, person)
            self.git.set_ref(f"refs/heads/{branch}", sha)
            return sha

    def edit_labels(
        self, number: int, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()
    ) -> None:
        """A human adds or removes labels on the PR."""
        with self.lock:
            pull = self.pulls[number]
            for name in add:
                self.labels.setdefault(name, Label(name))
                if name not in pull.labels:
                    pull.labels.append(name)
            pull.labels = [name for name in pull.labels if name not in remove]
            pull.touch()

    def add_pull(
        self,
        *,
        branch: str,
        author: str,
        title: str = "a PR",
        body: str | None = None,
        labels: tuple[str, ...] = (),
        head_repo: str | None = None,
        head_sha: str | None = None,
        draft: bool = False,
    ) -> Pull:
        """A PR opened by someone else (``head_repo`` another ``owner/name`` for a fork's PR,
        whose branch need not exist here)."""
        with self.lock:
            base_sha = self.branch(self.default_branch)
            assert base_sha is not None
            sha = head_sha or self.branch(branch) or base_sha
            pull = Pull(
                self.next_number(),
                title,
                body,
                branch,
                self.default_branch,
                sha,
                base_sha,
                author,
                head_repo or self.full_name,
                draft=draft,
            )
            self.pulls[pull.number] = pull
            self.edit_labels(pull.number, add=labels)
            return pull

    # -- what the sim saw ------------------------------------------------------------------

    def requests(self, method: str | None = None, contains: str = "") -> list[Exchange]:
        """Logged requests (REST and git), oldest first, filtered by method and path."""
        with self.lock:
            return [
                exchange
                for exchange in self.log
                if (method is None or exchange.method == method) and contains in exchange.path
            ]
