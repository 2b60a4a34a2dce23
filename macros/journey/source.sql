{% macro source(source_name, table_name) %}
    {#- dbt's own source(), with the lake run attempt filled in when dbt executes.

        `journeyline run` names the attempt it built in the environment variable
        JOURNEYLINE_LAKE_RUN_PATH, a new folder every run. Read while parsing (in
        _lake__sources.yml) it changed the sources' definition on every run, so dbt
        re-parsed them and every node built on them (about 4.4 s of the run's warm
        dbt child). Read here, only when executing, it leaves the saved parse valid
        from run to run; the marker is what _lake__sources.yml puts in its place. -#}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- set marker = '@@JOURNEYLINE_LAKE_RUN_PATH@@' -%}
    {%- if execute and target.type == 'duckdb' and relation.external and marker in relation.external -%}
        {%- set path = env_var('JOURNEYLINE_LAKE_RUN_PATH', '') | replace("'", "''") -%}
        {%- set relation = relation.incorporate(
            external=relation.external | replace(marker, path)
        ) -%}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}
