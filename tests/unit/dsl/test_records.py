"""Record declarations: the fields of a template's context record, read without GHC."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from micro_gastown.dsl import SourceLocation
from micro_gastown.dsl.records import RecordDecl, record_fields

WriteRepo = Callable[[Mapping[str, str]], Path]


def test_a_multi_line_record_with_comments_haddock_and_deriving(write_repo: WriteRepo) -> None:
    source = (
        "{-# LANGUAGE DuplicateRecordFields #-}\n"
        "module Context where\n"
        "\n"
        "-- | What the faq template sees.\n"
        "data FaqContext = FaqContext\n"
        "  { question :: Text          -- ^ the customer's words\n"
        "  , customer_tier :: Text\n"
        "    {- , not_a_field :: Int -}\n"
        "  , kb_documents\n"
        "      :: [KbDocument]  -- ^ the whole knowledge base\n"
        "  }\n"
        "  deriving (Show, Generic)\n"
    )
    root = write_repo({"src/Context.hs": source})
    assert record_fields(root, "FaqContext") == RecordDecl(
        name="FaqContext",
        constructor="FaqContext",
        fields=(
            ("question", "Text"),
            ("customer_tier", "Text"),
            ("kb_documents", "[KbDocument]"),
        ),
        declared_in=SourceLocation("src/Context.hs", 5),
    )


def test_shared_types_strictness_and_unpack_pragmas(write_repo: WriteRepo) -> None:
    source = (
        "data Counts = MkCounts { hits, misses :: {-# UNPACK #-} !Int\n"
        "                       , label :: ~(Maybe T.Text), raw :: !(Map Text [Int]) }\n"
        "  deriving stock Show\n"
    )
    root = write_repo({"Types.hs": source})
    record = record_fields(root, "Counts")
    assert record is not None
    assert record.constructor == "MkCounts"
    assert record.fields == (
        ("hits", "Int"),
        ("misses", "Int"),
        ("label", "Maybe T.Text"),
        ("raw", "Map Text [Int]"),
    )
    assert record.field_names == ("hits", "misses", "label", "raw")


def test_newtype_records_and_type_parameters(write_repo: WriteRepo) -> None:
    source = (
        "newtype Wrapped = Wrapped { unwrap :: Text }\n"
        "data Page a = Page { items :: [a], total :: Int } deriving Functor\n"
    )
    root = write_repo({"Types.hs": source})
    wrapped = record_fields(root, "Wrapped")
    page = record_fields(root, "Page")
    assert wrapped is not None
    assert wrapped.fields == (("unwrap", "Text"),)
    assert page is not None
    assert page.fields == (("items", "[a]"), ("total", "Int"))


def test_duplicate_field_names_stay_with_their_own_record(write_repo: WriteRepo) -> None:
    source = (
        "{-# LANGUAGE DuplicateRecordFields #-}\n"
        "data Ask = Ask { subject :: Text, body :: Text }\n"
        "data Reply = Reply { subject :: Text, signature :: Text }\n"
    )
    root = write_repo({"Context.hs": source})
    ask, reply = record_fields(root, "Ask"), record_fields(root, "Reply")
    assert ask is not None
    assert reply is not None
    assert ask.field_names == ("subject", "body")
    assert reply.field_names == ("subject", "signature")
    assert reply.declared_in == SourceLocation("Context.hs", 3)


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("data Choice = Yes { y :: Int } | No { n :: Int }\n", "several constructors"),
        ("data Plain = Plain Int Text\n", "positional constructor"),
        ("data Gadt where\n  Gadt :: { g :: Int } -> Gadt\n", "GADT syntax"),
        ("data Empty\n", "no constructor"),
        ("type Alias = Other\n", "a type synonym"),
        ("data family Fam a\ndata instance Fam Int = FamInt { f :: Int }\n", "a data family"),
    ],
)
def test_types_that_are_not_single_constructor_records_read_as_none(
    write_repo: WriteRepo, source: str, why: str
) -> None:
    root = write_repo({"Types.hs": source})
    name = source.split()[2] if source.startswith("data family") else source.split()[1]
    assert record_fields(root, name) is None, why


def test_a_record_in_a_comment_or_string_is_not_a_declaration(write_repo: WriteRepo) -> None:
    source = (
        "-- data Ghost = Ghost { boo :: Int }\n"
        "{- data Phantom = Phantom { x :: Int }\n"
        "-}\n"
        'banner = "data Fake = Fake { nope :: Int }"\n'
        'data Real = Real { tag :: Tagged "{ odd :: Int }" Text }\n'
    )
    root = write_repo({"Types.hs": source})
    assert record_fields(root, "Ghost") is None
    assert record_fields(root, "Phantom") is None
    assert record_fields(root, "Fake") is None
    real = record_fields(root, "Real")
    assert real is not None
    assert real.fields == (("tag", 'Tagged "{ odd :: Int }" Text'),)


def test_an_unknown_type_is_none(write_repo: WriteRepo) -> None:
    root = write_repo({"Types.hs": "data Known = Known { k :: Int }\n"})
    assert record_fields(root, "Unknown") is None
    assert record_fields(root, "Know") is None  # a prefix is not the name


def test_an_empty_record_has_no_fields(write_repo: WriteRepo) -> None:
    root = write_repo({"Types.hs": "data Nothing' = Nothing' {}\n"})
    record = record_fields(root, "Nothing'")
    assert record is not None
    assert record.fields == ()


def test_a_field_name_with_a_hidden_character_is_left_out(write_repo: WriteRepo) -> None:
    source = "data Ctx = Ctx { visible :: Text, sneaky\u200bname :: Text, last :: Int }\n"
    root = write_repo({"Context.hs": source})
    record = record_fields(root, "Ctx")
    assert record is not None
    assert record.field_names == ("visible", "last")


def test_the_declaration_nearest_the_binding_file_wins(write_repo: WriteRepo) -> None:
    root = write_repo(
        {
            "billing/src/Context.hs": "data Ctx = Ctx { invoice :: Text }\n",
            "support/src/Context.hs": "data Ctx = Ctx { ticket :: Text }\n",
        }
    )
    near_support = record_fields(root, "Ctx", near="support/src/Templates.hs")
    near_billing = record_fields(root, "Ctx", near="billing/src/Templates.hs")
    assert near_support is not None
    assert near_billing is not None
    assert near_support.field_names == ("ticket",)
    assert near_billing.field_names == ("invoice",)
    first = record_fields(root, "Ctx")
    assert first is not None
    assert first.declared_in.path == "billing/src/Context.hs"  # path order without `near`


def test_a_fifo_named_like_a_module_is_skipped_not_read(write_repo: WriteRepo) -> None:
    root = write_repo({"Context.hs": "data Ctx = Ctx { a :: Int }\n"})
    os.mkfifo(root / "Blocking.hs")  # opening it for reading would wait for a writer
    record = record_fields(root, "Ctx")
    assert record is not None
    assert record.field_names == ("a",)
