{#- In an incremental run, keep only rows the loader wrote (or rewrote) since the newest row this
    model already holds from the same part; >= so a load committed during the last run is re-read
    (the unique key makes that harmless). -#}
{% macro incremental_since_last_load(part_column, part, loaded_at='_loaded_at') -%}
    {% if is_incremental() %}
      and {{ loaded_at }} >= (select coalesce(max(_loaded_at), '-infinity'::timestamptz) from {{ this }}
                         where {{ part_column }} = '{{ part }}')
    {% endif %}
{%- endmacro %}
