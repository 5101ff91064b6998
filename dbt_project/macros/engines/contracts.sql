{#- The marts' contracts (models/marts/*.yml) spell their data types the PostgreSQL way (text,
    numeric, timestamp with time zone, text[]). On the other engines those names read through
    engine_type, both where dbt checks a contract (the empty schema it compares the model with) and
    where dbt-duckdb creates a contracted table from it, so `numeric` is a double there rather than
    DuckDB's DECIMAL(18,3). dbt_project.yml's dispatch puts these before dbt's own. -#}

{% macro engine_contract_columns(columns) -%}
    {%- set translated = {} -%}
    {%- for name, column in columns.items() -%}
        {%- set copy = {} -%}
        {%- do copy.update(column) -%}
        {%- if column.get('data_type') -%}
            {%- do copy.update({'data_type': engine_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do translated.update({name: copy}) -%}
    {%- endfor -%}
    {{- return(translated) -}}
{%- endmacro %}

{% macro duckdb__get_empty_schema_sql(columns) -%}
    {{- return(dbt.default__get_empty_schema_sql(engine_contract_columns(columns))) -}}
{%- endmacro %}

{% macro spark__get_empty_schema_sql(columns) -%}
    {{- return(dbt.default__get_empty_schema_sql(engine_contract_columns(columns))) -}}
{%- endmacro %}

{#- dbt-duckdb creates a contracted table from the contract's columns, then inserts the model's rows. -#}
{% macro duckdb__get_table_columns_and_constraints() -%}
    {%- set columns = adapter.render_raw_columns_constraints(raw_columns=engine_contract_columns(model['columns'])) -%}
    {%- set constraints = adapter.render_raw_model_constraints(raw_constraints=model['constraints']) -%}
    ({{ (columns + constraints) | join(', ') }})
{%- endmacro %}

{#- Spark's own split_part (3.3+) gives '' past the last part, like PostgreSQL's; dbt-spark's indexes
    an array, which fails under ANSI mode (Spark 4's default) when the part is missing. -#}
{% macro spark__split_part(string_text, delimiter_text, part_number) -%}
    split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }})
{%- endmacro %}

{#- Seeds' column_types (seeds/*.yml) are PostgreSQL spellings too; Spark creates and fills the seed
    tables with them read through engine_type (there is no TEXT type there). -#}
{% macro engine_seed_model(model) -%}
    {%- set types = {} -%}
    {%- for name, type in (model['config'].get('column_types') or {}).items() -%}
        {%- do types.update({name: engine_type(type)}) -%}
    {%- endfor -%}
    {%- set config = {} -%}
    {%- do config.update(model['config']) -%}
    {%- do config.update({'column_types': types}) -%}
    {%- set translated = {} -%}
    {%- do translated.update(model) -%}
    {%- do translated.update({'config': config}) -%}
    {{- return(translated) -}}
{%- endmacro %}

{% macro spark__create_csv_table(model, agate_table) -%}
    {{- return(dbt.spark__create_csv_table(engine_seed_model(model), agate_table)) -}}
{%- endmacro %}

{#- dbt-spark's session mode splices seed values into its INSERT unescaped (a quote in a value breaks
    the statement); here they are written as escaped literals. -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_types = engine_seed_model(model)['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set column_name = agate_table.column_names[loop.index0] -%}
                    {%- set type = column_types.get(column_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    cast({{ spark_text_literal(value) }} as {{ type }}){{ ', ' if not loop.last }}
                {%- endfor -%}){{ ',' if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{- return(statements[0]) -}}
{%- endmacro %}

{% macro spark_text_literal(value) -%}
    {%- if value is none -%}null{%- else -%}'{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'{%- endif -%}
{%- endmacro %}
