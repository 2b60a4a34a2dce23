{% macro source(source_name, table_name) %}
    {#- dbt's own source(), with the lake's folders filled in when dbt executes.

        `journeyline run` names the folders the sources read in environment variables:
        the run attempt (a new folder every run), the run history and the stream's output
        (both inside the lake). Read while parsing, in the sources' yml, they made the
        saved parse hold for one lake only, so a new lake's first run parsed the whole
        project (about 6 s; 4.4 s more on every run for the attempt alone). Read here,
        only when executing, they leave a saved parse valid for any lake; the markers
        are what the sources' yml puts in their place. A marker whose variable is unset
        falls back to the source's meta.external_location_unset when it has one (the
        stream's alerts: an empty relation before any stream ran). -#}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- if execute and target.type == 'duckdb' and relation.external and '@@JOURNEYLINE_' in relation.external -%}
        {%- set state = {'external': relation.external} -%}
        {%- for name in ['JOURNEYLINE_LAKE_RUN_PATH', 'JOURNEYLINE_OPS_PATH', 'JOURNEYLINE_STREAM_PATH'] -%}
            {%- set marker = '@@' ~ name ~ '@@' -%}
            {%- set path = env_var(name, '') -%}
            {%- if marker in state.external and path -%}
                {%- do state.update({'external': state.external | replace(marker, path | replace("'", "''"))}) -%}
            {%- elif marker in state.external -%}
                {%- set node = graph.sources.get('source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name) -%}
                {%- set unset = (node.meta if node else {}).get('external_location_unset') -%}
                {%- if unset -%}
                    {%- do state.update({'external': unset}) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set relation = relation.incorporate(external=state.external) -%}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}
