"""File-pr: the one way every face files a validated change as a draft pull request.

``micro-gastown file-pr``, the evolve pipeline's file-pr step and the demo build a
:class:`FilePrRequest` and call :func:`file_pr`:

1. the inputs are read and cross-checked (:mod:`.filing_inputs`): nothing but a validated
   change, with its evidence, is filed;
2. GitHub is the memory: our earlier PRs (label, branch, author, metadata block) decide
   whether this change is new, updates our open PR for the same findings, or must wait
   (:mod:`micro_gastown.github.hygiene`);
3. the pr-filer polecat writes the prose (or code does, with the LLM off); code renders
   every fact, the charts and the metadata block (:mod:`micro_gastown.github.body`);
4. a dry run writes the branch name, the patch, the body, the commit message and the API
   calls it would make, and touches nothing; otherwise the branch is made (``git push``
   or the Git Database API) and the PR opened or refreshed
   (:mod:`micro_gastown.github.publish`), in an order a crash resumes.

The outcome is typed (:class:`FilingOutcome`); each face words it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

from micro_gastown.app.branch_maker import branch_maker
from micro_gastown.app.filer_settings import FilerSettings, open_github, resolve_filer_settings
from micro_gastown.app.filing_draft import draft_filing
from micro_gastown.app.filing_dry_run import check_out, dry_run
from micro_gastown.app.filing_inputs import FilingInputs, load_inputs
from micro_gastown.app.filing_request import (
    FILE_PR_SKILL,
    FilePrRequest,
    FilingContext,
    FilingOutcome,
    FilingStatus,
)
from micro_gastown.app.refine import refiner_config
from micro_gastown.config.configset import load_config
from micro_gastown.config.polecat import Polecat
from micro_gastown.errors import (
    ConfigError,
    DslError,
    GitError,
)
from micro_gastown.github.api import GitHubApi
from micro_gastown.github.gitrun import run_git
from micro_gastown.github.hygiene import Decision, Verdict
from micro_gastown.github.model import (
    CommitIdentity,
    OurPr,
    PrDraft,
)
from micro_gastown.github.publish import Published, publish
from micro_gastown.llm.base import LlmBackend, Meter
from micro_gastown.refine.guardrails import Guardrails
from micro_gastown.report.changes import PRResult, PRStatus

__all__ = ["FILE_PR_SKILL", "FilePrRequest", "FilingOutcome", "FilingStatus", "file_pr"]


def file_pr(
    request: FilePrRequest,
    *,
    environ: Mapping[str, str] | None = None,
    meter: Meter | None = None,
    api: GitHubApi | None = None,
    backend: LlmBackend | None = None,
    now: dt.datetime | None = None,
) -> FilingOutcome:
    """File the change (or, for a dry run, write what would be filed).

    ``api`` replaces the GitHub client the settings describe (tests), ``backend`` the
    model the request names. Raises a MicroGastownError for a mistake in the request, the
    settings or the inputs (before anything is published), a GitHubError when GitHub or
    the push fails (what was done is resumed by the next run)."""
    environ = os.environ if environ is None else environ
    now = now or dt.datetime.now(dt.UTC)
    settings = resolve_filer_settings(request.github, environ)
    polecat, guardrails = _filer_config(request.config_dirs)
    inputs = load_inputs(
        request.patch,
        changes_path=request.changes,
        evidence=request.evidence,
        patterns=request.patterns,
        guardrails=guardrails,
        allow_unvalidated=request.allow_unvalidated,
    )
    if not inputs.patch.strip():
        return FilingOutcome(
            FilingStatus.NOTHING, f"{request.patch} is empty: refine found nothing to file"
        )
    if request.dry_run:
        check_out(request.out)
    if not request.dry_run:
        _require_github(settings)
    repo_top, prefix = _locate(request.repo)
    base = _base_commit(inputs, repo_top)
    context = FilingContext(request, settings, polecat, inputs, repo_top, prefix, base)
    client = api if api is not None else _client(settings, context)
    try:
        identity = _identity(settings, client, context)
        history = _history(client, identity, context)
        draft, decision, cost = draft_filing(
            context, history, client, identity, now, meter, backend, environ
        )
        if request.dry_run:
            return dry_run(context, client, draft, decision, identity, cost)
        if decision.verdict not in (Verdict.NEW, Verdict.UPDATE):
            return FilingOutcome(
                FilingStatus.SKIPPED, decision.reason, draft=draft, decision=decision,
                notes=tuple(context.notes), cost=cost,
            )  # fmt: skip
        assert client is not None
        published = _publish(context, client, draft, identity)
        return _outcome(context, draft, decision, published, cost, now)
    finally:
        if api is None and client is not None:
            _close(client)


def _filer_config(config_dirs: tuple[Path, ...]) -> tuple[Polecat, Guardrails | None]:
    config = load_config(list(config_dirs))
    formula = config.skill(FILE_PR_SKILL)
    polecat = config.polecat(formula.execution.polecat)
    refiner, refine_formula = refiner_config(config_dirs)
    guardrails = None
    if refiner.guardrails is not None:
        extra = [
            *(refine_formula.validation.forbidden_changes if refine_formula.validation else ()),
            *(refine_formula.guardrails.forbidden_paths if refine_formula.guardrails else ()),
        ]
        guardrails = Guardrails.of(refiner.guardrails, extra)
    return polecat, guardrails


def _require_github(settings: FilerSettings) -> None:
    if settings.github_token is None:
        raise ConfigError(
            "filing needs a GitHub token (GITHUB_TOKEN, or MICRO_GASTOWN_GITHUB_TOKEN for an "
            "App installation token or a fine-grained PAT); a dry run needs none"
        )
    if settings.github_repository is None:
        raise ConfigError(
            "filing needs the repository as OWNER/NAME (GITHUB_REPOSITORY in Actions)",
            setting="github_repository",
        )


def _git(repo: Path, *args: str) -> str:
    return run_git(args, cwd=repo).strip()


def _locate(repo: Path) -> tuple[Path, str | None]:
    """The repository's top and the checkout's place below it (None: at the top)."""
    if not repo.is_dir():
        raise DslError("no such directory", setting="repo", value=repo)
    try:
        top = Path(_git(repo, "rev-parse", "--show-toplevel"))
        prefix = _git(repo, "rev-parse", "--show-prefix").rstrip("/")
    except GitError:
        raise DslError("not a git checkout", setting="repo", value=repo) from None
    return top, prefix or None


def _base_commit(inputs: FilingInputs, repo_top: Path) -> str:
    metadata = inputs.changes.metadata if inputs.changes is not None else None
    if metadata is not None and metadata.base_commit:
        return metadata.base_commit
    return _git(repo_top, "rev-parse", "HEAD")


def _client(settings: FilerSettings, context: FilingContext) -> GitHubApi | None:
    client = open_github(settings)
    if client is None:
        context.notes.append(
            "no GitHub token or repository: our earlier PRs were not read, so the hygiene "
            "rules assumed there are none"
        )
    return client


def _identity(
    settings: FilerSettings, client: GitHubApi | None, context: FilingContext
) -> CommitIdentity:
    login = settings.github_login
    if login is None and client is not None:
        login = client.whoami()
        if login is None:
            if not context.request.dry_run:
                raise ConfigError(
                    "GitHub does not tell an installation or workflow token who it is: set "
                    "our login (github-actions[bot] for the workflow's GITHUB_TOKEN, "
                    "<app-slug>[bot] for a GitHub App)",
                    setting="github_login",
                )
            context.notes.append("our GitHub login is unknown: earlier PRs were not matched")
    return CommitIdentity(
        login=login or "micro-gastown[bot]",
        name=settings.commit_name,
        email=settings.commit_email,
    )


def _close(client: GitHubApi) -> None:
    """The client we opened lets go of its connections (PyGithub keeps a session)."""
    close = getattr(client, "close", None)
    if callable(close):
        close()


def _history(
    client: GitHubApi | None, identity: CommitIdentity, context: FilingContext
) -> list[OurPr]:
    if client is None:
        return []
    return client.our_prs(identity.login)


def _publish(
    context: FilingContext, client: GitHubApi, draft: PrDraft, identity: CommitIdentity
) -> Published:
    maker, same_change = branch_maker(
        repo_top=context.repo_top,
        prefix=context.checkout_prefix,
        patch=context.inputs.patch,
        settings=context.settings,
        client=client,
        draft=draft,
        identity=identity,
    )
    return publish(client, draft, identity=identity, make_branch=maker, same_change=same_change)


def _outcome(
    context: FilingContext,
    draft: PrDraft,
    decision: Decision,
    published: Published,
    cost: str | None,
    now: dt.datetime,
) -> FilingOutcome:
    notes = list(context.notes)
    if published.refused_reviewers:
        notes.append(
            f"GitHub refused reviewer(s) {', '.join(published.refused_reviewers)} (not "
            "collaborators?)"
        )
    if published.left_alone is not None or published.pr is None:
        return FilingOutcome(
            FilingStatus.LEFT_ALONE, published.reason, draft=draft, decision=decision,
            notes=tuple(notes), cost=cost,
        )  # fmt: skip
    pr = published.pr
    if published.created:
        status, reason = FilingStatus.OPENED, f"opened #{pr.number}"
    elif published.pushed:
        status, reason = FilingStatus.UPDATED, f"updated #{pr.number}: new commit, body refreshed"
    else:
        status, reason = FilingStatus.UNCHANGED, f"#{pr.number} already holds this change"
    assert published.commit_sha is not None
    result = PRResult(
        pr_url=pr.url,
        branch_name=draft.branch,
        commit_sha=published.commit_sha,
        files_changed=list(draft.files),
        status=PRStatus.DRAFT if pr.draft else PRStatus.READY,
        patterns_addressed=list(context.inputs.fingerprints),
        pr_number=pr.number,
        labels=sorted(pr.labels),
        created_at=pr.created_at or now.isoformat(timespec="seconds"),
    )
    return FilingOutcome(
        status, reason, result=result, draft=draft, decision=decision, notes=tuple(notes),
        cost=cost,
    )  # fmt: skip
