{% macro json_string(json_expr, key) %}
    {#- The string value at the top-level key of a JSON document held in a
        string column; null when the key is missing or the JSON is invalid. -#}
    {%- if not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', key) -%}
        {{ exceptions.raise_compiler_error("json_string key must be a plain name, got " ~ key) }}
    {%- endif -%}
    {{ return(adapter.dispatch('json_string', 'journeyline')(json_expr, key)) }}
{% endmacro %}

{% macro default__json_string(json_expr, key) -%}
    json_extract_path_text({{ json_expr }}, '{{ key }}')
{%- endmacro %}

{% macro duckdb__json_string(json_expr, key) -%}
    case
        when json_valid({{ json_expr }})
            then json_extract_string({{ json_expr }}, '$.{{ key }}')
    end
{%- endmacro %}

{% macro bigquery__json_string(json_expr, key) -%}
    safe.json_value({{ json_expr }}, '$.{{ key }}')
{%- endmacro %}
