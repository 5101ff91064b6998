"""`dbt` for sqlfluff's jinja templater: dbt's cross-database macros (dbt.split_part, ...) as the lint
renders them, the PostgreSQL spelling."""


def split_part(string_text, delimiter_text, part_number):
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def position(substring_text, string_text):
    return f"position({substring_text} in {string_text})"


def current_timestamp():
    return "now()"
