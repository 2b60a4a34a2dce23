{#- Physical layout for big marts on BigQuery; nothing on other engines. -#}

{% macro bigquery_partition_by(field, data_type='date', granularity='day') %}
    {%- if target.type == 'bigquery' -%}
        {{ return({'field': field, 'data_type': data_type, 'granularity': granularity}) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}

{% macro bigquery_cluster_by(columns) %}
    {%- if target.type == 'bigquery' -%}
        {{ return(columns) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}
