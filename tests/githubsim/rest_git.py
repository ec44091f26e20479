"""The repository, the token's user, and the Git Database API over the bare repository:
refs (read, list by prefix, create, fast-forward or forced update), blobs, trees
(``base_tree``, deletion by a null sha), commits (signed, so *verified*, when no author
is given) and compare."""

from __future__ import annotations

import base64
import binascii
import re

from .gitstore import GitFailed, Person
from .replies import ApiError, Call, Reply, Route, not_found, route
from .state import now_iso

__all__ = ["ROUTES"]

_REPO = "/repos/{owner}/{repo}"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_GITHUB = Person("GitHub", "noreply@github.com")


def get_user(call: Call) -> Reply:
    if call.account.installation:
        raise ApiError(403, "Resource not accessible by integration")
    return Reply(200, call.sim.private_user_json(call.account))


def get_repo(call: Call) -> Reply:
    return Reply(200, call.sim.repo_json())


def get_ref(call: Call) -> Reply:
    name = f"refs/{call.params['ref']}"
    sha = call.sim.git.ref(name)
    if sha is None:
        raise not_found()
    return Reply(200, call.sim.ref_json(name, sha))


def matching_refs(call: Call) -> Reply:
    """Every ref starting with ``refs/{ref}`` (a prefix, not whole path segments: GitHub's
    own matching), sorted by name; an empty array when none does."""
    prefix = f"refs/{call.params['ref']}"
    refs = call.sim.git.refs("refs/")
    return Reply(
        200,
        [
            call.sim.ref_json(name, sha)
            for name, sha in sorted(refs.items())
            if name.startswith(prefix)
        ],
    )


def _commit_sha(call: Call, sha: object) -> str:
    if not isinstance(sha, str) or not _SHA.match(sha) or call.sim.git.object_type(sha) != "commit":
        raise ApiError(422, "Object does not exist")
    return sha


def create_ref(call: Call) -> Reply:
    name = str(call.body.get("ref", ""))
    if not name.startswith("refs/") or name.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    sha = _commit_sha(call, call.body.get("sha"))
    if call.sim.git.ref(name) is not None:
        raise ApiError(422, "Reference already exists")
    call.sim.git.set_ref(name, sha)
    return Reply(201, call.sim.ref_json(name, sha))


def update_ref(call: Call) -> Reply:
    name = f"refs/{call.params['ref']}"
    old = call.sim.git.ref(name)
    if old is None:
        raise ApiError(422, "Reference does not exist")
    sha = _commit_sha(call, call.body.get("sha"))
    if not call.body.get("force", False) and not call.sim.git.is_ancestor(old, sha):
        raise ApiError(422, "Update is not a fast forward")
    call.sim.git.set_ref(name, sha)
    return Reply(200, call.sim.ref_json(name, sha))


def create_blob(call: Call) -> Reply:
    content, encoding = call.body.get("content"), call.body.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise ApiError(422, "Invalid request.\n\nFor 'properties/content', nil is not a string.")
    try:
        data = (
            base64.b64decode(content, validate=True) if encoding == "base64" else content.encode()
        )
    except binascii.Error:
        raise ApiError(422, "Invalid base64 content") from None
    sha = call.sim.git.write_blob(data)
    return Reply(201, {"url": f"{call.sim.urls.repo_api}/git/blobs/{sha}", "sha": sha})


def create_tree(call: Call) -> Reply:
    git, base = call.sim.git, call.body.get("base_tree")
    if base is not None and git.object_type(str(base)) != "tree":
        raise ApiError(422, "Invalid tree info")
    entries: list[tuple[str, str, str | None]] = []
    for item in call.body.get("tree", []):
        if "content" in item:
            sha: str | None = git.write_blob(str(item["content"]).encode())
        else:
            sha = item.get("sha")
            if sha is not None and git.object_type(sha) is None:
                raise ApiError(422, f"Invalid tree info: {sha} is not a valid object")
        entries.append((str(item["path"]), str(item.get("mode", "100644")), sha))
    try:
        sha = git.write_tree(base, entries)
    except GitFailed as failed:
        raise ApiError(422, f"GitRPC::BadObjectState: {failed}") from None
    return Reply(201, call.sim.tree_json(sha))


def get_tree(call: Call) -> Reply:
    sha = call.params["tree_sha"]
    if call.sim.git.object_type(sha) != "tree":
        raise not_found()
    return Reply(200, call.sim.tree_json(sha))


def create_commit(call: Call) -> Reply:
    sim, body = call.sim, call.body
    tree = body.get("tree")
    if not isinstance(tree, str) or sim.git.object_type(tree) != "tree":
        raise ApiError(422, "Tree SHA does not exist")
    parents = [_commit_sha(call, sha) for sha in body.get("parents", [])]
    given = body.get("author")
    signed = given is None and body.get("committer") is None
    account = call.account
    now = now_iso()
    author = (
        Person(given["name"], given["email"], given.get("date", now))
        if given
        else Person(account.name, account.email, now)
    )
    committer_given = body.get("committer")
    committer = (
        Person(committer_given["name"], committer_given["email"], committer_given.get("date", now))
        if committer_given
        else (Person(_GITHUB.name, _GITHUB.email, now) if signed else author)
    )
    sha = sim.git.write_commit(tree, parents, str(body.get("message", "")), author, committer)
    if signed:
        sim.verified.add(sha)
    return Reply(201, sim.git_commit_json(sha))


def get_commit(call: Call) -> Reply:
    sha = call.params["commit_sha"]
    if call.sim.git.object_type(sha) != "commit":
        raise not_found()
    return Reply(200, call.sim.git_commit_json(sha))


def compare(call: Call) -> Reply:
    sim = call.sim
    base_name, dots, head_name = call.params["basehead"].partition("...")
    if not dots:
        raise not_found()
    base, head = _resolve(call, base_name), _resolve(call, head_name)
    merge_base = sim.git.merge_base(base, head)
    if merge_base is None:
        raise not_found()
    ahead = sim.git.commits_between(merge_base, head)
    behind = sim.git.commits_between(merge_base, base)
    status = (
        "identical"
        if not ahead and not behind
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    urls = sim.urls
    return Reply(
        200,
        {
            "url": f"{urls.repo_api}/compare/{base_name}...{head_name}",
            "html_url": f"{urls.repo_web}/compare/{base_name}...{head_name}",
            "permalink_url": f"{urls.repo_web}/compare/{urls.owner}:{base}...{urls.owner}:{head}",
            "diff_url": f"{urls.repo_web}/compare/{base_name}...{head_name}.diff",
            "patch_url": f"{urls.repo_web}/compare/{base_name}...{head_name}.patch",
            "base_commit": sim.commit_json(base),
            "merge_base_commit": sim.commit_json(merge_base),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": [sim.commit_json(sha) for sha in ahead],
            "files": [],
        },
    )


def _resolve(call: Call, name: str) -> str:
    """A sha, a branch, or ``owner:branch`` of this repository."""
    owner, _, ref = name.rpartition(":")
    if owner and owner != call.sim.urls.owner:
        raise not_found()
    if _SHA.match(ref) and call.sim.git.object_type(ref) == "commit":
        return ref
    sha = call.sim.git.ref(f"refs/heads/{ref}")
    if sha is None:
        raise not_found()
    return sha


ROUTES: list[Route] = [
    route("GET", "/user", get_user),
    route("GET", _REPO, get_repo),
    route("GET", f"{_REPO}/git/ref/{{ref}}", get_ref),
    route("GET", f"{_REPO}/git/matching-refs/{{ref}}", matching_refs),
    route("POST", f"{_REPO}/git/refs", create_ref),
    route("PATCH", f"{_REPO}/git/refs/{{ref}}", update_ref),
    route("POST", f"{_REPO}/git/blobs", create_blob),
    route("POST", f"{_REPO}/git/trees", create_tree),
    route("GET", f"{_REPO}/git/trees/{{tree_sha}}", get_tree),
    route("POST", f"{_REPO}/git/commits", create_commit),
    route("GET", f"{_REPO}/git/commits/{{commit_sha}}", get_commit),
    route("GET", f"{_REPO}/compare/{{basehead}}", compare),
]
