{% macro assert_lake_vars() %}
    {#- on-run-start: fail with a clear message, not a missing-file error,
        when the runner forgot to say where the lake is. -#}
    {%- if execute and target.type == 'duckdb' -%}
        {%- if not (var('lake_run_path', '') or env_var('JOURNEYLINE_LAKE_RUN_PATH', '')) -%}
            {{ exceptions.raise_compiler_error(
                "dbt var 'lake_run_path' (or the environment variable "
                ~ "JOURNEYLINE_LAKE_RUN_PATH) is required on DuckDB: pass --vars "
                ~ "'{lake_run_path: <lake>/runs/<attempt>, ops_path: <lake>/_ops}'") }}
        {%- endif -%}
        {%- if not (var('ops_path', '') or env_var('JOURNEYLINE_OPS_PATH', '')) -%}
            {{ exceptions.raise_compiler_error(
                "dbt var 'ops_path' (or the environment variable JOURNEYLINE_OPS_PATH) "
                ~ "is required on DuckDB: pass --vars "
                ~ "'{lake_run_path: <lake>/runs/<attempt>, ops_path: <lake>/_ops}'") }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
