"""Every guardrail, each on its own: forbidden globs (case-insensitive, gitignore-like),
context, pattern links, secrets, hidden characters, unsafe Haskell, encoding, size."""

from __future__ import annotations

from pathlib import Path

import pytest

from micro_gastown.config.polecat import Guardrails as PolecatGuardrails
from micro_gastown.errors import ConfigError
from micro_gastown.refine.globs import ForbiddenGlobs, compile_glob
from micro_gastown.refine.guardrails import (
    BUILT_IN_FORBIDDEN,
    Guardrails,
    added_secret_kinds,
    check_change,
    check_edit,
)
from micro_gastown.refine.model import Edit, FileDiff, Rejection, RuleCode
from micro_gastown.refine.unsafe_haskell import added_unsafe_constructs

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2


# --- globs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("**/*.cabal", "x.cabal", True),
        ("**/*.cabal", "vendor/exomonad/exomonad.cabal", True),
        ("**/*.cabal", "x.cabal.bak", False),
        ("*.pem", "a/b/c/server.pem", True),
        ("*.pem", "server.pem.txt", False),
        (".github/**", ".github/workflows/ci.yml", True),
        (".github/**", "sub/.github/workflows/ci.yml", False),
        (".github/**", ".GitHub/Workflows/CI.yml", True),
        ("deploy/**", "deploy/k8s/app.yaml", True),
        ("deploy/**", "src/deploy/app.yaml", False),
        ("/Makefile", "Makefile", True),
        ("/Makefile", "sub/Makefile", False),
        ("Makefile", "sub/Makefile", True),
        ("templates/*.jinja", "templates/faq.jinja", True),
        ("templates/*.jinja", "templates/nested/faq.jinja", False),
        ("templates/**/*.jinja", "templates/faq.jinja", True),
        ("templates/**/*.jinja", "templates/a/b/faq.jinja", True),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "ab", False),
        ("*secret*", "config/Secrets/db.yml", True),
        ("*secret*", "config/db.yml", False),
        ("secrets/", "x/secrets/db.yml", True),
        ("secrets/", "x/secrets", False),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file/.txt", False),
        ("file[0-9].txt", "file7.txt", True),
        ("file[!0-9].txt", "file7.txt", False),
        ("file[!0-9].txt", "filex.txt", True),
        ("a[/]b", "a/b", False),
        ("file[.txt", "file[.txt", True),
        ("\\*.txt", "*.txt", True),
        ("\\*.txt", "a.txt", False),
        ("cabal.project*", "sub/cabal.project.freeze", True),
        ("*", "anything/at/all", True),
        ("**", "anything", True),
    ],
)
def test_glob_semantics(glob: str, path: str, matches: bool) -> None:
    assert (compile_glob(glob).fullmatch(path) is not None) is matches


def test_globs_match_a_compatibility_form_of_the_path() -> None:
    globs = ForbiddenGlobs.of(["*.pem"])
    assert globs.first_match("key.\uff50em") == "*.pem"  # fullwidth p


@pytest.mark.parametrize("glob", ["", "   ", "/", "!keep.me", "#comment"])
def test_globs_that_cannot_forbid_are_config_errors(glob: str) -> None:
    with pytest.raises(ConfigError, match="forbidden path glob"):
        compile_glob(glob)


@pytest.mark.parametrize(
    "path",
    [
        ".github/workflows/ci.yml",
        ".GitHub/workflows/x.yml",
        ".git/config",
        ".circleci/config.yml",
        ".gitlab-ci.yml",
        "deploy/prod.yaml",
        "Dockerfile",
        "sub/Dockerfile",
        ".gitattributes",
        ".gitmodules",
        "sub/.gitignore",
        "exomonad-sample.cabal",
        "vendor/exomonad/exomonad.cabal",
        "cabal.project",
        "cabal.project.local",
        "cabal.project.freeze",
        "stack.yaml",
        "package.yaml",
        "Setup.hs",
        "Makefile",
        "default.nix",
        "nix/sources.nix",
        "deps.freeze",
        "Cargo.lock",
        "frontend/yarn.lock",
        "package-lock.json",
        "pnpm-lock.yaml",
        ".env",
        "config/.env.production",
        "server.pem",
        "tls/server.key",
        "cert.p12",
        "cert.pfx",
        "id_rsa",
        "home/id_rsa.pub",
        "id_ed25519",
        "config/db_secret.yml",
        "Credentials.json",
        "password.txt",
        "api_token.txt",
        ".netrc",
        ".npmrc",
        ".pypirc",
        "vault.kdbx",
        "test/Spec.hs",  # a change to the tests could make the validation pass by itself
        "lib/tests/Main.hs",
        "vendor/exomonad/src/ExoMonad/Graph/Types.hs",
    ],
)
def test_built_in_forbidden_paths(path: str) -> None:
    guardrails = Guardrails.of(PolecatGuardrails())
    assert guardrails.forbidding_glob(path) is not None


@pytest.mark.parametrize(
    "path",
    [
        "templates/faq.jinja",
        "src/Triage/Types.hs",
        "src/Triage/Graph.hs",
        "src/Triage/Handlers.hs",
        "README.md",
        "src/Triage/Tokenizer.hs",
        "templates/token_summary.jinja",
        "src/Setup/Config.hs",
        "docs/deploy.md",
    ],
)
def test_dsl_files_are_not_forbidden(path: str) -> None:
    assert Guardrails.of(PolecatGuardrails()).forbidding_glob(path) is None


def test_guardrails_of_a_polecat_keep_its_limits_and_add_every_glob() -> None:
    polecat = PolecatGuardrails(
        max_files_changed=2,
        max_lines_changed=30,
        require_pattern_link=False,
        forbidden_paths=["src/Triage/Effects.hs"],
    )
    guardrails = Guardrails.of(polecat, extra_forbidden=["templates/legal/**"])
    assert (guardrails.max_files, guardrails.max_lines) == (2, 30)
    assert guardrails.require_pattern_link is False
    assert set(BUILT_IN_FORBIDDEN) <= set(guardrails.forbidden)
    assert guardrails.forbidding_glob("src/Triage/Effects.hs") == "src/Triage/Effects.hs"
    assert guardrails.forbidding_glob("templates/legal/terms.jinja") == "templates/legal/**"
    assert len(guardrails.forbidden) == len(set(guardrails.forbidden))


def test_a_negated_extra_glob_cannot_allow_anything_back() -> None:
    with pytest.raises(ConfigError):
        Guardrails.of(PolecatGuardrails(), extra_forbidden=["!.github/**"])


# --- check_edit ----------------------------------------------------------------------

REPORT_IDS = frozenset({"slow_llm:faq", "dead_path:escalate"})


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "templates").mkdir(parents=True)
    (root / "src" / "Triage").mkdir(parents=True)
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / "templates" / "faq.jinja").write_text("Answer {{ question }} briefly.\n")
    (root / "templates" / "latin1.jinja").write_bytes("caf\xe9\n".encode("latin-1"))
    (root / "src" / "Triage" / "Handlers.hs").write_text("module Triage.Handlers where\n")
    (root / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    (root / "exomonad-sample.cabal").write_text("name: x\n")
    return root


def edit(
    path: str = "templates/faq.jinja",
    old: str = "briefly",
    new: str = "in two sentences",
    ids: tuple[str, ...] = ("slow_llm:faq",),
) -> Edit:
    return Edit(path=path, old_text=old, new_text=new, rationale="because", pattern_ids=ids)


def check(
    checkout: Path,
    the_edit: Edit,
    *,
    allowed: frozenset[str] | None = None,
    refined: frozenset[str] = frozenset({"slow_llm:faq"}),
    guardrails: Guardrails | None = None,
) -> tuple[str | None, list[Rejection]]:
    return check_edit(
        the_edit,
        root=checkout,
        allowed_paths=allowed
        if allowed is not None
        else frozenset({"templates/faq.jinja", "src/Triage/Handlers.hs", "templates/latin1.jinja"}),
        report_pattern_ids=REPORT_IDS,
        refined_pattern_ids=refined,
        guardrails=guardrails or Guardrails.of(PolecatGuardrails()),
    )


def rules(rejections: list[Rejection]) -> set[RuleCode]:
    return {rejection.rule for rejection in rejections}


def test_a_good_edit_passes(checkout: Path) -> None:
    assert check(checkout, edit(path="./templates//faq.jinja")) == ("templates/faq.jinja", [])


def test_a_forbidden_existing_file(checkout: Path) -> None:
    path, rejections = check(
        checkout,
        edit(path=".github/workflows/ci.yml", old="push", new="pull_request"),
        allowed=frozenset({".github/workflows/ci.yml"}),
    )
    assert path == ".github/workflows/ci.yml"
    assert rules(rejections) == {RuleCode.FORBIDDEN_PATH}
    assert ".github/**" in rejections[0].detail


def test_a_forbidden_new_file_names_every_rule(checkout: Path) -> None:
    path, rejections = check(checkout, edit(path=".github/workflows/evil.yml", old="x"))
    assert path is None
    assert rules(rejections) == {
        RuleCode.NOT_A_FILE,
        RuleCode.FORBIDDEN_PATH,
        RuleCode.NOT_IN_CONTEXT,
    }


def test_a_forbidden_path_in_another_case(checkout: Path) -> None:
    _, rejections = check(
        checkout,
        edit(path=".GitHub/workflows/ci.yml"),
        allowed=frozenset({".GitHub/workflows/ci.yml"}),
    )
    assert rules(rejections) == {RuleCode.CASE_ALIAS, RuleCode.FORBIDDEN_PATH}


def test_a_malformed_forbidden_path_is_still_named_forbidden(checkout: Path) -> None:
    path, rejections = check(checkout, edit(path=".github\\workflows\\ci.yml"))
    assert path is None
    assert rules(rejections) == {RuleCode.INVALID_PATH, RuleCode.FORBIDDEN_PATH}


def test_a_build_file_in_context_is_still_forbidden(checkout: Path) -> None:
    _, rejections = check(
        checkout,
        edit(path="exomonad-sample.cabal", old="x", new="y"),
        allowed=frozenset({"exomonad-sample.cabal"}),
    )
    assert rules(rejections) == {RuleCode.FORBIDDEN_PATH}


def test_an_escaping_path(checkout: Path) -> None:
    path, rejections = check(checkout, edit(path="../../etc/passwd"))
    assert path is None
    assert rules(rejections) == {RuleCode.PARENT_REFERENCE}


def test_a_file_outside_the_context(checkout: Path) -> None:
    _, rejections = check(checkout, edit(), allowed=frozenset({"src/Triage/Handlers.hs"}))
    assert rules(rejections) == {RuleCode.NOT_IN_CONTEXT}
    assert rejections[0].path == "templates/faq.jinja"


def test_an_edit_without_a_pattern_id(checkout: Path) -> None:
    _, rejections = check(checkout, edit(ids=()))
    assert rules(rejections) == {RuleCode.NO_PATTERN_LINK}
    _, blank = check(checkout, edit(ids=("  ",)))
    assert rules(blank) == {RuleCode.NO_PATTERN_LINK}


def test_no_pattern_link_is_allowed_when_the_polecat_says_so(checkout: Path) -> None:
    lenient = Guardrails.of(PolecatGuardrails(require_pattern_link=False))
    assert check(checkout, edit(ids=()), guardrails=lenient)[1] == []


def test_unknown_and_unrefined_pattern_ids(checkout: Path) -> None:
    _, rejections = check(
        checkout, edit(ids=("slow_llm:faq", "made_up:x", "dead_path:escalate", "made_up:x"))
    )
    assert [r.rule for r in rejections] == [RuleCode.UNKNOWN_PATTERN, RuleCode.UNKNOWN_PATTERN]
    assert "made_up:x" in rejections[0].detail
    assert "no such pattern" in rejections[0].detail
    assert "dead_path:escalate" in rejections[1].detail
    assert "not being refined" in rejections[1].detail


def test_a_secret_in_the_new_text(checkout: Path) -> None:
    _, rejections = check(checkout, edit(new=f"briefly. Use key {AWS_KEY}."))
    assert rules(rejections) == {RuleCode.SECRET_IN_CHANGE}
    assert AWS_KEY not in rejections[0].detail
    assert "aws-access-key" in rejections[0].detail


def test_a_secret_kept_from_the_old_text_is_not_the_models(checkout: Path) -> None:
    old = f"token = {GITHUB_TOKEN}"
    assert added_secret_kinds(old, f"{old} # kept") == []
    assert added_secret_kinds(old, f"# moved\n{old}") == []


def test_a_secret_swapped_for_another_of_the_same_kind_is_new() -> None:
    other = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0" * 2
    assert added_secret_kinds(f"t = {GITHUB_TOKEN}", f"t = {other}") == ["github-token"]


def test_a_second_copy_of_a_kept_secret_is_new() -> None:
    assert added_secret_kinds(f"a {AWS_KEY}", f"a {AWS_KEY} b {AWS_KEY}") != []


def test_a_secret_past_the_redactors_length_cut_is_found() -> None:
    assert added_secret_kinds("x", "x" + "\n" * 6000 + f"key {AWS_KEY}\n") != []


def test_crlf_and_length_alone_are_not_secrets() -> None:
    assert added_secret_kinds("a\r\nb\r\n", "a\r\nc\r\n") == []
    assert added_secret_kinds("x", "plain words\n" * 1000) == []


@pytest.mark.parametrize(
    "hidden", ["\u202e", "\u2066", "\u200b", "\ufeff", "\x1b[31m", "\U000e0041", "a\rb", "\x00"]
)
def test_hidden_characters_in_the_new_text(checkout: Path, hidden: str) -> None:
    _, rejections = check(checkout, edit(new=f"in two{hidden} sentences"))
    assert RuleCode.HIDDEN_CHARACTERS in rules(rejections)


def test_hidden_characters_the_old_text_had_are_kept(checkout: Path) -> None:
    (checkout / "templates" / "bom.jinja").write_text("\ufeffHello {{ name }}\n")
    _, rejections = check(
        checkout,
        edit(path="templates/bom.jinja", old="\ufeffHello", new="\ufeffHi"),
        allowed=frozenset({"templates/bom.jinja"}),
    )
    assert rejections == []


def test_crlf_line_ends_are_not_hidden(checkout: Path) -> None:
    _, rejections = check(checkout, edit(new="in two\r\nsentences\r\n"))
    assert rejections == []


def test_a_file_that_is_not_utf8(checkout: Path) -> None:
    path, rejections = check(checkout, edit(path="templates/latin1.jinja", old="caf"))
    assert path == "templates/latin1.jinja"
    assert rules(rejections) == {RuleCode.NOT_UTF8}


def test_unsafe_haskell_is_refused(checkout: Path) -> None:
    _, rejections = check(
        checkout,
        edit(
            path="src/Triage/Handlers.hs",
            old="module Triage.Handlers where",
            new="module Triage.Handlers where\nimport System.Process (callCommand)",
        ),
    )
    assert rules(rejections) == {RuleCode.UNSAFE_CODE}
    assert "System.Process" in rejections[0].detail


def test_unsafe_looking_text_outside_haskell_is_not_code(checkout: Path) -> None:
    _, rejections = check(checkout, edit(new="explain how runIO and $(splices) work"))
    assert rejections == []


def test_rejection_details_never_echo_hidden_model_text(checkout: Path) -> None:
    _, rejections = check(checkout, edit(ids=("x\u202e\x1b[2Jevil",)))
    assert rejections
    for rejection in rejections:
        assert "\u202e" not in rejection.detail
        assert "\x1b" not in rejection.detail


# --- unsafe Haskell ------------------------------------------------------------------


@pytest.mark.parametrize(
    "added",
    [
        "x = $(runQ [| 1 |])",
        "x = $$(liftTyped 1)",
        "x = $foo",
        "x = [| 1 + 1 |]",
        "x = [|| 1 ||]",
        "x = [e| 1 |]",
        "x = [shell|rm -rf /|]",
        "main = runIO (pure ())",
        "x = unsafePerformIO (pure 1)",
        "x = unsafeInterleaveIO act",
        "x = unsafeDupablePerformIO act",
        "x = accursedUnutterablePerformIO act",
        "x = unsafeCoerce y",
        'foreign import ccall "system" c_system :: CString -> IO CInt',
        "{-# LANGUAGE TemplateHaskell #-}",
        "{-# language templatehaskell #-}",
        "{-# LANGUAGE OverloadedStrings, QuasiQuotes #-}",
        "{-# LANGUAGE CPP #-}",
        "{-#LANGUAGE\n  ForeignFunctionInterface #-}",
        "{-# OPTIONS_GHC -F -pgmF /bin/sh #-}",
        "{-# options_ghc -fplugin=Evil #-}",
        "{-# ANN module (1 :: Int) #-}",
        "import System.Process",
        "import qualified System.Process as P",
        "import System.Process.Typed (proc)",
        "import System.IO.Unsafe (unsafePerformIO)",
        "import System.IO (openFile)",
        "import System.Directory (removeFile)",
        "import System.Posix.Files",
        "import System.Environment (getEnv)",
        "import Network.HTTP.Simple",
        "import Network.Socket",
        "import Foreign.C.String",
        "import ForeignPtrUtils",
        "import GHC.IO (unsafePerformIO)",
        "import GHC.IORef",
        "import Language.Haskell.TH.Syntax",
        "import Data.FileEmbed",
        "import UnliftIO.Process",
        'import safe qualified "process" System.Process as P',
        "import {-# SOURCE #-} System.Process",
        "import\n  System.Process",
        'x = readFile "x"',
        'x = T.writeFile "/tmp/x" t',
        "x = appendFile f t",
        'x = getEnv "ANTHROPIC_API_KEY"',
        'x = lookupEnv "HOME"',
        'x = callCommand "id"',
        'x = readProcess "id" [] ""',
        "tpl = typedTemplateFile ''Ctx \"../../etc/passwd\"",
        "tpl = typedTemplateFile ''Ctx \"/etc/passwd\"",
        'x = embedFile "~/.ssh/id_rsa"',
    ],
)
def test_unsafe_haskell_constructs(added: str) -> None:
    assert added_unsafe_constructs("module M where\n", f"module M where\n{added}\n") != []


@pytest.mark.parametrize(
    "added",
    [
        "x = f $ g y",
        "x = f <$> y",
        "x = f $! y",
        "x = a <> b",
        "x = [1, 2 | False]",
        "data Reply = Reply { text :: Text, tone :: Tone }",
        "import Data.Text (Text)",
        "import qualified Data.Map.Strict as Map",
        "import Control.Monad.IO.Class (liftIO)",
        "import Data.Aeson (FromJSON, ToJSON)",
        "import GHC.Generics (Generic)",
        "deriveJSONSchema ''Reply",
        "{-# LANGUAGE DerivingStrategies #-}",
        "{-# INLINE f #-}",
        'msg = "templates/faq.jinja"',
        'msg = "costs $5 / month"',
        "-- | Reads the ticket, writes a reply.",
        "x = unsafe",
    ],
)
def test_ordinary_haskell_passes(added: str) -> None:
    assert added_unsafe_constructs("module M where\n", f"module M where\n{added}\n") == []


def test_an_unsafe_construct_the_old_text_had_and_keeps_is_allowed() -> None:
    old = "faqCompiled = $(typedTemplateFile ''FaqContext \"templates/faq.jinja\")\n"
    new = "-- | The FAQ prompt.\n" + old
    assert added_unsafe_constructs(old, new) == []


def test_a_second_copy_of_an_unsafe_construct_is_added() -> None:
    old = "{-# LANGUAGE TemplateHaskell #-}\nx = $(a)\n"
    assert added_unsafe_constructs(old, old + "y = $(b)\n") == ["a Template Haskell splice"]


def test_unsafe_code_applies_to_every_haskell_suffix(checkout: Path) -> None:
    for name in ("Boot.hs-boot", "Lit.lhs", "Bind.hsc", "Upper.HS"):
        (checkout / "src" / name).write_text("module X where\n")
        _, rejections = check(
            checkout,
            edit(path=f"src/{name}", old="module X where", new="module X where\nx = runIO y"),
            allowed=frozenset({f"src/{name}"}),
        )
        assert rules(rejections) == {RuleCode.UNSAFE_CODE}, name


# --- check_change --------------------------------------------------------------------


def diff(path: str, added: int, removed: int) -> FileDiff:
    return FileDiff(path=path, diff="", lines_added=added, lines_removed=removed)


def test_a_change_within_the_limits() -> None:
    guardrails = Guardrails.of(PolecatGuardrails(max_files_changed=2, max_lines_changed=10))
    assert check_change([diff("a", 3, 2), diff("b", 5, 0)], guardrails) == []


def test_too_many_files_and_lines() -> None:
    guardrails = Guardrails.of(PolecatGuardrails(max_files_changed=2, max_lines_changed=10))
    rejections = check_change([diff("a", 3, 2), diff("b", 5, 0), diff("c", 0, 1)], guardrails)
    assert rules(rejections) == {RuleCode.TOO_MANY_FILES, RuleCode.TOO_MANY_LINES}
    assert all(rejection.path is None for rejection in rejections)
    assert "3 files" in rejections[0].detail
    assert "11 lines" in rejections[1].detail


def test_added_and_removed_lines_both_count() -> None:
    guardrails = Guardrails.of(PolecatGuardrails(max_lines_changed=10))
    assert rules(check_change([diff("a", 6, 5)], guardrails)) == {RuleCode.TOO_MANY_LINES}
    assert check_change([diff("a", 5, 5)], guardrails) == []


def test_tightened_takes_the_stricter_of_two_tables() -> None:
    polecat = PolecatGuardrails(
        max_files_changed=5, max_lines_changed=50, require_pattern_link=False
    )
    formula = PolecatGuardrails(
        max_files_changed=9,
        max_lines_changed=20,
        require_pattern_link=True,
        forbidden_paths=["src/Triage/Effects.hs"],
    )
    tightened = Guardrails.of(polecat).tightened(formula)
    assert (tightened.max_files, tightened.max_lines) == (5, 20)
    assert tightened.require_pattern_link is True
    assert tightened.forbidding_glob("src/Triage/Effects.hs") == "src/Triage/Effects.hs"
    assert tightened.forbidding_glob(".github/workflows/x.yml") == ".github/**"


def test_the_check_change_method_is_the_function() -> None:
    guardrails = Guardrails.of(PolecatGuardrails(max_files_changed=1))
    diffs = [diff("a", 1, 0), diff("b", 1, 0)]
    assert guardrails.check_change(diffs) == check_change(diffs, guardrails)
    assert rules(guardrails.check_change(diffs)) == {RuleCode.TOO_MANY_FILES}
