"""Pull requests, their labels, reviewers and comments, with GitHub's rules: drafts, the
422 for a second open PR on the same head, for a head with nothing to merge, for a
reviewer who is not a collaborator; merging (405 for a draft, a closed or a conflicting
PR, 409 when the head is no longer the ``sha`` given); pagination with a ``Link``
header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from . import shapes
from .replies import ApiError, Call, Reply, Route, invalid, not_found, route
from .state import Comment, Label, Pull, now_iso

__all__ = ["ROUTES"]

_REPO = "/repos/{owner}/{repo}"


def _pull(call: Call) -> Pull:
    pull = call.sim.pulls.get(int(call.params["pull_number"]))
    if pull is None:
        raise not_found()
    return pull


def list_pulls(call: Call) -> Reply:
    sim, query = call.sim, call.query
    state = query.get("state", "open")
    pulls = [pull for pull in sim.pulls.values() if state == "all" or pull.state == state]
    if "head" in query:
        pulls = [pull for pull in pulls if sim.head_label(pull) == query["head"]]
    if "base" in query:
        pulls = [pull for pull in pulls if pull.base_ref == query["base"]]
    sort = query.get("sort", "created")
    direction = query.get("direction", "desc" if sort == "created" else "asc")
    key = {"updated": lambda p: p.updated_at}.get(sort, lambda p: (p.created_at, p.number))
    pulls.sort(key=key, reverse=direction == "desc")
    return _paged(
        query, pulls, sim.urls.repo_api + "/pulls", lambda p: sim.pull_json(p, full=False)
    )


def _paged(query: Any, items: list[Any], base: str, to_json: Callable[[Any], Any]) -> Reply:
    """One page of ``items`` as GitHub serves a list: ``per_page`` (default 30, at most
    100) and ``page``, with a ``Link`` header when there is more than one page."""
    per_page = max(1, min(int(query.get("per_page", "30")), 100))
    page = max(1, int(query.get("page", "1")))
    last = max(1, -(-len(items) // per_page))
    chosen = items[(page - 1) * per_page : page * per_page]
    reply = Reply(200, [to_json(item) for item in chosen])
    if last > 1:
        reply.headers.append(("Link", _link(base, query, page, last)))
    return reply


def _link(base: str, query: Any, page: int, last: int) -> str:
    def url(number: int) -> str:
        return f"{base}?{urlencode({**dict(query), 'page': str(number)})}"

    rels = []
    if page < last:
        rels += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        rels += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
    return ", ".join(rels)


def get_pull(call: Call) -> Reply:
    return Reply(200, call.sim.pull_json(_pull(call), full=True))


def create_pull(call: Call) -> Reply:
    sim, body = call.sim, call.body
    for name in ("head", "base"):
        if not body.get(name):
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "code": "missing_field", "field": name}],
            )
    owner, _, branch = str(body["head"]).rpartition(":")
    if owner and owner != sim.urls.owner:
        raise invalid("head repository not found", resource="PullRequest", field_name="head")
    head_sha = sim.git.ref(f"refs/heads/{branch}")
    base_sha = sim.git.ref(f"refs/heads/{body['base']}")
    if head_sha is None or base_sha is None:
        field_name = "head" if head_sha is None else "base"
        raise ApiError(
            422,
            "Validation Failed",
            errors=[{"resource": "PullRequest", "field": field_name, "code": "invalid"}],
        )
    for pull in sim.pulls.values():
        if pull.state == "open" and pull.head_ref == branch and pull.base_ref == body["base"]:
            message = f"A pull request already exists for {sim.urls.owner}:{branch}."
            raise invalid(message, resource="PullRequest")
    if not sim.git.commits_between(base_sha, head_sha):
        raise invalid(f"No commits between {body['base']} and {branch}", resource="PullRequest")
    pull = Pull(
        number=sim.next_number(),
        title=str(body.get("title") or ""),
        body=body.get("body"),
        head_ref=branch,
        base_ref=str(body["base"]),
        head_sha=head_sha,
        base_sha=base_sha,
        author=call.account.login,
        head_repo=sim.urls.full_name,
        draft=bool(body.get("draft", False)),
    )
    sim.pulls[pull.number] = pull
    return Reply(201, sim.pull_json(pull, full=True))


def update_pull(call: Call) -> Reply:
    pull, body = _pull(call), call.body
    if "title" in body:
        pull.title = str(body["title"])
    if "body" in body:
        pull.body = body["body"]
    if body.get("state") == "closed" and pull.state == "open":
        call.sim.close(pull.number)
    pull.touch()
    return Reply(200, call.sim.pull_json(pull, full=True))


def _label_names(body: Any) -> list[str]:
    """Every form ``issues/add-labels`` accepts: a list, ``{"labels": [...]}``, of names or
    of ``{"name": ...}``."""
    items = body.get("labels", []) if isinstance(body, dict) else body
    if isinstance(items, str):
        items = [items]
    return [item["name"] if isinstance(item, dict) else str(item) for item in items]


def _labels_reply(call: Call, pull: Pull) -> Reply:
    return Reply(200, [call.sim.label_json(name) for name in pull.labels])


def list_labels(call: Call) -> Reply:
    return _labels_reply(call, _pull(call))


def add_labels(call: Call) -> Reply:
    pull = _pull(call)
    for name in _label_names(call.body):
        call.sim.labels.setdefault(name, Label(name))
        if name not in pull.labels:
            pull.labels.append(name)
    pull.touch()
    return _labels_reply(call, pull)


def remove_label(call: Call) -> Reply:
    pull, name = _pull(call), call.params["name"]
    if name not in pull.labels:
        raise ApiError(404, "Label does not exist")
    pull.labels.remove(name)
    pull.touch()
    return _labels_reply(call, pull)


def list_reviewers(call: Call) -> Reply:
    pull, sim = _pull(call), call.sim
    return Reply(200, {"users": [sim.user_json(name) for name in pull.reviewers], "teams": []})


def request_reviewers(call: Call) -> Reply:
    pull, sim = _pull(call), call.sim
    names = [str(name) for name in call.body.get("reviewers", [])]
    for name in names:
        account = sim.accounts.get(name)
        if name == pull.author:
            raise ApiError(422, "Review cannot be requested from pull request author.")
        if account is None or not account.collaborator:
            raise ApiError(
                422,
                "Reviews may only be requested from collaborators. One or more of the users "
                f"or teams you specified is not a collaborator of the {sim.urls.full_name} "
                "repository.",
            )
    pull.reviewers.extend(name for name in names if name not in pull.reviewers)
    pull.touch()
    return Reply(201, sim.pull_json(pull, full=False))


def list_comments(call: Call) -> Reply:
    pull, sim = _pull(call), call.sim
    base = f"{sim.urls.repo_api}/issues/{pull.number}/comments"
    return _paged(call.query, pull.comments, base, lambda c: sim.comment_json(c, pull.number))


def create_comment(call: Call) -> Reply:
    pull, sim = _pull(call), call.sim
    if not call.body.get("body"):
        raise ApiError(
            422,
            "Validation Failed",
            errors=[{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
        )
    item = Comment(str(call.body["body"]), call.account.login)
    pull.comments.append(item)
    pull.updated_at = now_iso()
    return Reply(201, sim.comment_json(item, pull.number))


def merge_pull(call: Call) -> Reply:
    """``PUT .../pulls/{n}/merge`` with a merge commit, as :meth:`GitHubSim.merge` makes one
    (squash and rebase are not simulated: a test asking for them fails, saying so)."""
    pull, sim, body = _pull(call), call.sim, call.body
    method = body.get("merge_method", "merge")
    if method != "merge":
        raise NotImplementedError(f"githubsim merges with a merge commit only, not {method!r}")
    if pull.state != "open":
        raise ApiError(405, "Pull Request is not mergeable")
    if pull.draft:
        raise ApiError(405, "Pull Request is still a draft")
    if body.get("sha") and body["sha"] != sim.pull_head(pull):
        raise ApiError(409, "Head branch was modified. Review and try the merge again.")
    if not sim.mergeable(pull):
        raise ApiError(405, "Pull Request is not mergeable")
    sha = sim.merge(
        pull.number,
        by=call.account.login,
        title=body.get("commit_title"),
        message=body.get("commit_message"),
    )
    return Reply(200, shapes.merge_result(sha))


ROUTES: list[Route] = [
    route("GET", f"{_REPO}/pulls", list_pulls),
    route("POST", f"{_REPO}/pulls", create_pull),
    route("GET", f"{_REPO}/pulls/{{pull_number}}", get_pull),
    route("PATCH", f"{_REPO}/pulls/{{pull_number}}", update_pull),
    route("PUT", f"{_REPO}/pulls/{{pull_number}}/merge", merge_pull),
    route("GET", f"{_REPO}/pulls/{{pull_number}}/requested_reviewers", list_reviewers),
    route("POST", f"{_REPO}/pulls/{{pull_number}}/requested_reviewers", request_reviewers),
    route("GET", f"{_REPO}/issues/{{pull_number}}/labels", list_labels),
    route("POST", f"{_REPO}/issues/{{pull_number}}/labels", add_labels),
    route("DELETE", f"{_REPO}/issues/{{pull_number}}/labels/{{name}}", remove_label),
    route("GET", f"{_REPO}/issues/{{pull_number}}/comments", list_comments),
    route("POST", f"{_REPO}/issues/{{pull_number}}/comments", create_comment),
]
