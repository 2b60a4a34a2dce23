{#- One row per (event, identifier) from the `identifiers` map of timeline rows.
    DuckDB holds it as MAP(VARCHAR, VARCHAR); BigQuery loads a Parquet map as a
    repeated record of key / value. -#}

{% macro explode_identifiers(relation, columns) %}
    {#- A select over relation (a CTE name) returning columns plus
        identifier_type and identifier_value, one row per map entry. -#}
    {{ return(adapter.dispatch('explode_identifiers', 'journeyline')(relation, columns)) }}
{% endmacro %}

{% macro default__explode_identifiers(relation, columns) -%}
    select
        {%- for column in columns %}
        entries.{{ column }},
        {%- endfor %}
        entries.identifier_entry.key as identifier_type,
        entries.identifier_entry.value as identifier_value

    from (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            unnest(map_entries(identifiers)) as identifier_entry
        from {{ relation }}
    ) as entries
{%- endmacro %}

{% macro bigquery__explode_identifiers(relation, columns) -%}
    select
        {%- for column in columns %}
        {{ relation }}.{{ column }},
        {%- endfor %}
        identifier_entry.key as identifier_type,
        identifier_entry.value as identifier_value

    from {{ relation }}

    cross join unnest({{ relation }}.identifiers) as identifier_entry
{%- endmacro %}
