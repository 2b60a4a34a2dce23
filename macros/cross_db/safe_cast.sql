{#- dbt.safe_cast is a plain cast on DuckDB; DuckDB has try_cast (null on
    failure), which is what "safe" promises on BigQuery (safe_cast). -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
