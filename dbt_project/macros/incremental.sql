{#-
    Incremental builds (docs/scale.md). One row, int_incremental_state, says what a build has to
    catch up on since the last build of the same schemas: raw rows loaded since `changed_since`
    (the last build's start minus the lookback var), the as-of instant moving from the last
    build's to this one's, or everything (`is_full`: no last build, or the project's code, seeds,
    settings vars or owners changed). Change sets turn that into keys: int_person_records_changed
    (source records), int_people_rematched (identity), int_people_changed (people),
    int_opportunities_changed (opportunities). A large model then deletes the rows of those keys
    and inserts them rebuilt (the `rebuild_keys` strategy below), so after any sequence of builds
    it holds what a full refresh of the same raw data and as-of gives.

    Assumed: a build of a schema runs every incremental model it holds (the whole project, one
    dbt invocation or one per model as Cosmos does, or a `+model` selection, which takes the state
    and the change sets along), and a build that failed half-way is followed by a full refresh
    (baton.build.publish.prepare_shadow drops such a shadow). A model run without the state of its
    build (another as-of or other settings) rebuilds everything (incremental_state below).
-#}

{#- This build's incremental state: {full, changed_since, as_of, previous_as_of} (literals), read at
    run time from int_incremental_state. Full (rebuild everything) unless that row was built for this
    build: the same as-of, the same settings. A run that selected a model but not the state before it
    (`dbt run --select fct_handoffs` with other vars, or without an as-of) rebuilds the model whole
    rather than trust a state another build left; Cosmos's one dbt invocation per model (the
    transform DAG) all see the state its first task built for the run's as-of. -#}
{% macro incremental_state() -%}
    {%- set relation = ref('int_incremental_state') -%}
    {%- if not execute or load_relation(relation) is none -%}
        {{- return({'full': true}) -}}
    {%- endif -%}
    {%- set rows = run_query("select is_full, cast(changed_since as " ~ engine_type('text') ~ "), cast(as_of as " ~ engine_type('text')
                              ~ "), cast(previous_as_of as " ~ engine_type('text') ~ "),"
                              ~ " settings_fingerprint, as_of = " ~ as_of() ~ " from " ~ relation).rows -%}
    {%- if rows | length != 1 -%}
        {{- return({'full': true}) -}}
    {%- endif -%}
    {%- set row = rows[0] -%}
    {%- set current = row[5] and row[4] == incremental_settings_fingerprint() -%}
    {{- return({'full': row[0] or not current, 'changed_since': row[1], 'as_of': row[2], 'previous_as_of': row[3]}) -}}
{%- endmacro %}

{#- True when this incremental model rebuilds every row: its first build, --full-refresh, or a full
    incremental state. -#}
{% macro rebuilds_everything() -%}
    {%- do ref('int_incremental_state') -%}
    {%- if not is_incremental() -%}
        {{- return(true) -}}
    {%- endif -%}
    {{- return(incremental_state().full) -}}
{%- endmacro %}

{#- A row-level model's filter in an incremental run: only what the loader wrote (or rewrote) since
    the last build, `loaded_at` being the raw rows' _loaded_at (the literal lets the planner use the
    raw tables' _loaded_at index). -#}
{% macro loaded_since_last_build(loaded_at='_loaded_at') -%}
    {%- if not rebuilds_everything() %}
    {%- set state = incremental_state() %} and {{ loaded_at }} >= cast('{{ state.changed_since }}' as {{ engine_type('timestamptz') }}){% endif -%}
{%- endmacro %}

{#- The instants between the last build's as-of and this one's (either order): what crossed the
    as-of line in between. `false` when the as-of did not move. -#}
{% macro crossed_as_of(instant_expr, state) -%}
    {%- if state.previous_as_of is none or state.previous_as_of == state.as_of -%}
        false
    {%- else -%}
        ({{ instant_expr }}) > least(cast('{{ state.previous_as_of }}' as {{ engine_type('timestamptz') }}), cast('{{ state.as_of }}' as {{ engine_type('timestamptz') }}))
        and ({{ instant_expr }}) <= greatest(cast('{{ state.previous_as_of }}' as {{ engine_type('timestamptz') }}), cast('{{ state.as_of }}' as {{ engine_type('timestamptz') }}))
    {%- endif -%}
{%- endmacro %}

{#- baton_meta.load_log (the loader's log of every load), or none where nothing was ever loaded. -#}
{% macro load_log_relation() -%}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(adapter.get_relation(database=target.database, schema='baton_meta', identifier='load_log')) -}}
{%- endmacro %}

{#- A model's rows as the last build of these schemas left them, for a change set that runs before the
    model is rebuilt (the model depends on the change set). None when there is none yet. -#}
{% macro last_built(model_name) -%}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {%- if node is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(adapter.get_relation(database=node.database, schema=node.schema,
                                    identifier=node.alias or node.name)) -}}
{%- endmacro %}

{#- `select <key> from <relation> where false` when a last-built relation is missing, so a change set
    compiles either way (a missing one means the reader builds fully anyway). -#}
{% macro last_built_or_empty(model_name, columns) -%}
    {%- set relation = last_built(model_name) -%}
    {%- if relation is none -%}
        (select {% for column, type in columns.items() %}cast(null as {{ engine_type(type) }}) as {{ column }}{{ ", " if not loop.last }}{% endfor %} where false)
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- Strategy `rebuild_keys`: delete+insert by `unique_key`, where the keys whose rows are deleted are
    those of the new rows and every key of the change set named by config `rebuilt_keys_from` (its
    column `rebuilt_keys_column`, default the same name), so a key that lost all its rows loses them
    here too. Everything when the incremental state is full. One transaction, like dbt's own
    strategies. -#}
{% macro get_incremental_rebuild_keys_sql(arg_dict) -%}
    {{- return(adapter.dispatch('get_incremental_rebuild_keys_sql', 'baton')(arg_dict)) -}}
{%- endmacro %}

{% macro default__get_incremental_rebuild_keys_sql(arg_dict) %}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- set change_set = ref(config.require('rebuilt_keys_from')) -%}
    {%- set change_set_key = config.get('rebuilt_keys_column') or key -%}
    delete from {{ arg_dict['target_relation'] }} as rebuilt
    {%- if not rebuilds_everything() %}
    where rebuilt.{{ key }} in (
        select new_rows.{{ key }} from {{ arg_dict['temp_relation'] }} as new_rows
        union
        select changed.{{ change_set_key }} from {{ change_set }} as changed
    )
    {%- endif %};

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}

{#- The rows of a model an incremental run rebuilds: those whose key is in the change set. -#}
{% macro in_change_set(key_expr, change_set, key) -%}
    {%- set relation = ref(change_set) -%}
    {%- if not rebuilds_everything() %} and {{ key_expr }} in (select changed.{{ key }} from {{ relation }} as changed){% endif -%}
{%- endmacro %}

{#- Batch joins (hash joins, no JIT compile of a large plan) when a model rebuilds everything; an
    incremental run over a few keys is better served by index look-ups. A pre_hook. -#}
{% macro batch_join_settings(always=false) -%}
    {{- return(adapter.dispatch('batch_join_settings', 'baton')(always)) -}}
{%- endmacro %}

{#- PostgreSQL planner settings; the other engines plan batch joins by themselves. -#}
{% macro default__batch_join_settings(always) -%}{%- endmacro %}

{#- `always`: for a table model (no incremental state to ask), and for an incremental model whose row
    estimates lead the planner into nested loops that grow with the square of the night's change
    (int_handoff_owners_resolved: docs/scale.md). -#}
{% macro postgres__batch_join_settings(always) -%}
    set local jit = off;
    {% if always or rebuilds_everything() -%} set local enable_nestloop = off; {%- endif %}
{%- endmacro %}

{#- What the incremental models' rows depend on besides raw data and as-of: the project's models and
    seeds, and the vars below. A change makes the next build full (int_incremental_state). -#}
{% macro incremental_settings_fingerprint() -%}
    {%- if local_md5 is not defined -%}
        {{- return('no-fingerprint-outside-dbt') -}}  {#- sqlfluff renders models without dbt's context -#}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for name in incremental_setting_vars() -%}
        {%- do parts.append(name ~ '=' ~ tojson(var(name), sort_keys=true)) -%}
    {%- endfor -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
            {%- if node.resource_type == 'model' and node.package_name == project_name -%}
                {%- do parts.append(node.unique_id ~ ':' ~ local_md5(node.raw_code)) -%}
            {%- elif node.resource_type == 'seed' and node.package_name == project_name -%}
                {%- do parts.append(node.unique_id ~ ':' ~ node.checksum.checksum) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(local_md5(parts | join('\n'))) -}}
{%- endmacro %}

{#- Every var of dbt_project.yml that changes what a model computes (not as_of, which the as-of window
    handles, nor the lookback). tests/unit/test_incremental_settings.py keeps this list complete. -#}
{% macro incremental_setting_vars() -%}
    {{- return([
        'salesforce_enabled', 'marketo_enabled', 'hubspot_enabled',
        'salesforce_lead_passthrough_fields', 'salesforce_contact_passthrough_fields',
        'hubspot_contact_passthrough_fields', 'marketo_lead_passthrough_fields',
        'salesforce_marketing_touch_count_field', 'salesforce_last_marketing_touch_field',
        'salesforce_disqualified_reason_field', 'salesforce_recycled_reason_field',
        'hubspot_marketing_touch_count_property', 'hubspot_last_marketing_touch_property',
        'hubspot_reason_property', 'no_response_reasons',
        'business_timezone', 'business_day_start', 'business_day_end', 'business_weekdays',
        'sla_business_minutes', 'black_hole_business_days', 'premature_give_up_attempts',
        'duplicate_outreach_days', 'stalled_days', 'business_calendar_start', 'business_calendar_end',
        'sales_touch_roles', 'salesforce_completed_task_statuses', 'context_missing_markers',
        'segment_mid_market_employees', 'segment_enterprise_employees',
        'attribution_lookback_days', 'attribution_form_fill_touch_types', 'attribution_position_weights',
        'attribution_models', 'attribution_time_decay_half_life_days', 'marketo_default_lead_status',
        'holiday_country', 'holiday_subdivision', 'holiday_years', 'holiday_dates', 'baton_task_subject_prefix',
    ]) -}}
{%- endmacro %}

{#- An incremental run's filter on one kind of person record ('salesforce', 'Lead'): only the records
    in int_person_records_changed, matched on the source id (the raw tables' key). -#}
{% macro in_changed_records(id_expr, system, object) -%}
    {%- set relation = ref('int_person_records_changed') -%}
    {%- set prefix = system ~ ':' ~ object ~ ':' -%}
    {%- if not rebuilds_everything() %} and {{ id_expr }} in (
        select substr(changed.record_key, {{ prefix | length + 1 }}) from {{ relation }} as changed
        where changed.record_key like '{{ prefix }}%'
    ){% endif -%}
{%- endmacro %}

{#- A post-hook (dbt_project.yml): fresh statistics on a table just created whole (a table model, or an
    incremental model's first build or --full-refresh), so the models and change sets that read it
    next, in this build or an incremental one minutes later, are planned on its real size; an
    incremental run leaves them to autovacuum. -#}
{% macro analyze_rebuilt_table() -%}
    {{- return(adapter.dispatch('analyze_rebuilt_table', 'baton')()) -}}
{%- endmacro %}

{#- Other engines plan without such statistics (DuckDB samples as it goes; Spark reads file sizes). -#}
{% macro default__analyze_rebuilt_table() -%}{%- endmacro %}

{% macro postgres__analyze_rebuilt_table() -%}
    {%- set materialized = config.get('materialized') -%}
    {%- if materialized == 'table' or (materialized == 'incremental' and not is_incremental()) -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
