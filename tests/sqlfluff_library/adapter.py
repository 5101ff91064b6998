"""`adapter` for sqlfluff's jinja templater (.sqlfluff: library_path): dbt's adapter.dispatch, as the
lint renders the models on PostgreSQL, the project's house dialect. It resolves `postgres__<name>`,
else `default__<name>`, among the macros sqlfluff loaded from dbt_project/macros, else dbt's own
macro of that name rendered as a placeholder."""

from jinja2 import Undefined, pass_context


@pass_context
def dispatch(context, name, macro_namespace=None):
    for candidate in (f"postgres__{name}", f"default__{name}"):
        macro = context.resolve(candidate)
        if not isinstance(macro, Undefined):
            return macro
    return lambda *args, **kwargs: "null"


def get_relation(*args, **kwargs):
    return None
