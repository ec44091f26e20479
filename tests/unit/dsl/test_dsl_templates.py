"""Template bindings: which Jinja file each ``Template X`` type renders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from micro_gastown.dsl import SourceLocation, TemplateBinding, read_dsl

WriteRepo = Callable[[Mapping[str, str]], Path]


def test_instances_bind_template_types_to_package_relative_files(data_dir: Path) -> None:
    model = read_dsl(data_dir / "two-graphs")
    templates = "shop/src/Shop/Templates.hs"
    assert model.templates == (
        # templateCompiled names a value compiled by typedTemplateFile
        TemplateBinding(
            "PayTpl", "pay", "shop/templates/pay.jinja", SourceLocation(templates, 12), "PayContext"
        ),
        # an inline splice; "./" is normalised away
        TemplateBinding(
            "RateTpl",
            "rate",
            "shop/templates/rate.jinja",
            SourceLocation(templates, 19),
            "RateContext",
        ),
        # compiled but bound by no instance: listed under its context type
        TemplateBinding(
            "ReceiptContext",
            None,
            "shop/templates/receipt.jinja",
            SourceLocation(templates, 26),
            "ReceiptContext",
        ),
    )


def test_template_binding_looks_up_a_nodes_template_type(data_dir: Path) -> None:
    model = read_dsl(data_dir / "two-graphs")
    pay = next(n for n in model.nodes() if n.name == "pay")
    assert pay.template == "PayTpl"
    binding = model.template_binding(pay.template)
    assert binding is not None
    assert binding.file == "shop/templates/pay.jinja"
    assert model.template_binding("NoSuchTpl") is None


def test_context_type_links_an_instance_to_its_compiled_file(write_repo: WriteRepo) -> None:
    source = (
        "module Templates where\n"
        "compiled :: TypedTemplate Ctx SourcePos\n"
        "compiled = $(typedTemplateFile ''Ctx \"templates/x.jinja\")\n"
        "instance TemplateDef XTpl where\n"
        "  type TemplateContext XTpl = Ctx\n"
        '  templateName = "x"\n'
        "  templateCompiled = someHelper compiled\n"
    )
    root = write_repo({"Graph.hs": "module Graph where\n", "src/Templates.hs": source})
    (binding,) = read_dsl(root).templates
    assert (binding.type_name, binding.template_name, binding.file) == (
        "XTpl",
        "x",
        "templates/x.jinja",
    )
    assert binding.declared_in == SourceLocation("src/Templates.hs", 4)


def test_instance_without_a_file_is_kept_with_file_none(write_repo: WriteRepo) -> None:
    source = 'instance TemplateDef YTpl where\n  templateName = "y"\n'
    root = write_repo({"Graph.hs": "", "Templates.hs": source})
    assert read_dsl(root).templates == (
        TemplateBinding("YTpl", "y", None, SourceLocation("Templates.hs", 1), None),
    )


def test_template_paths_escaping_the_repo_are_kept_as_written(write_repo: WriteRepo) -> None:
    source = "c = $(typedTemplateFile ''Ctx \"../shared/t.jinja\")\n"
    root = write_repo({"Graph.hs": "", "Templates.hs": source})
    assert [t.file for t in read_dsl(root).templates] == ["../shared/t.jinja"]


def test_commented_out_instances_are_ignored(write_repo: WriteRepo) -> None:
    source = '{-\ninstance TemplateDef Old where\n  templateName = "old"\n-}\n'
    root = write_repo({"Graph.hs": "", "Templates.hs": source})
    assert read_dsl(root).templates == ()
