{% macro assert_lake_vars() %}
    {#- on-run-start: fail with a clear message, not a missing-file error,
        when the runner forgot to say where the lake is. -#}
    {%- if execute and target.type == 'duckdb' -%}
        {%- for name in ['lake_run_path', 'ops_path'] -%}
            {%- if not var(name, '') -%}
                {{ exceptions.raise_compiler_error(
                    "dbt var '" ~ name ~ "' is required on DuckDB: pass --vars "
                    ~ "'{lake_run_path: <lake>/runs/<attempt>, ops_path: <lake>/_ops}'") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
