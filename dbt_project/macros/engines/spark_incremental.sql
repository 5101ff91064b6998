{#- Spark without Delta or Iceberg (plain parquet tables, no DELETE or MERGE): the key-wise strategies
    Baton's incremental models use (`rebuild_keys`, macros/incremental.sql, and dbt's `delete+insert`)
    write the rows they keep plus the new rows to a new table, then swap it in for the old one, so an
    incremental build still ends with what a full refresh gives. The table dbt-spark would refuse
    these strategies for is the only thing overridden; every other strategy goes to dbt-spark. -#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy in ['rebuild_keys', 'delete+insert'] -%}
        {{- return(raw_strategy) -}}
    {%- endif -%}
    {{- return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) -}}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy in ['rebuild_keys', 'delete+insert'] -%}
        {{- return(spark_rebuild_keys_by_swap(strategy, source, target, unique_key)) -}}
    {%- endif -%}
    {{- return(dbt.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates)) -}}
{%- endmacro %}

{#- Runs the new table's creation and the old one's drop, and returns the swap (the materialization's
    main statement). Keys: the new rows' (delete+insert), plus the change set's (rebuild_keys); none
    kept when the incremental state says everything is rebuilt. -#}
{% macro spark_rebuild_keys_by_swap(strategy, source, target, unique_key) -%}
    {%- set rebuilt = target.incorporate(path={'identifier': target.identifier ~ '__rebuilt'}) -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='name') | list -%}
    {%- set column_list = columns | join(', ') -%}
    {%- set keep_none = strategy == 'rebuild_keys' and rebuilds_everything() -%}
    {%- do run_query('drop table if exists ' ~ rebuilt) -%}
    {%- set create_sql -%}
        create table {{ rebuilt }} using parquet as
        {%- if not keep_none %}
        select {% for column in columns %}kept.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
        from {{ target }} as kept
        left anti join (
            select new_rows.{{ unique_key }} as rebuilt_key from {{ source }} as new_rows
            {%- if strategy == 'rebuild_keys' %}
            union
            select changed.{{ config.get('rebuilt_keys_column') or unique_key }} from {{ ref(config.require('rebuilt_keys_from')) }} as changed
            {%- endif %}
        ) as rebuilt_keys on kept.{{ unique_key }} = rebuilt_keys.rebuilt_key
        union all
        {%- endif %}
        select {{ column_list }} from {{ source }}
    {%- endset -%}
    {%- do run_query(create_sql) -%}
    {%- do run_query('drop table if exists ' ~ target) -%}
    {{- return('alter table ' ~ rebuilt ~ ' rename to ' ~ target) -}}
{%- endmacro %}
