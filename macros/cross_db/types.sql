{#- Column types by intent, built on dbt's cross-database type macros. -#}

{% macro type_double() %}
    {#- 64-bit float (dbt.type_float() is a 32-bit REAL on DuckDB). -#}
    {{ return(adapter.dispatch('type_double', 'journeyline')()) }}
{% endmacro %}

{% macro default__type_double() %}{{ return(dbt.type_float()) }}{% endmacro %}

{% macro duckdb__type_double() %}{{ return('double') }}{% endmacro %}

{% macro bigquery__type_double() %}{{ return('float64') }}{% endmacro %}


{% macro type_timestamp_utc() %}
    {#- An instant in time (timestamp with time zone). -#}
    {{ return(adapter.dispatch('type_timestamp_utc', 'journeyline')()) }}
{% endmacro %}

{% macro default__type_timestamp_utc() %}{{ return(dbt.type_timestamp()) }}{% endmacro %}

{% macro duckdb__type_timestamp_utc() %}{{ return('timestamp with time zone') }}{% endmacro %}



{% macro cast_as(expr, kind) -%}
    {#- Cast expr to a type named by intent: string, bigint, double, boolean,
        date or timestamp (UTC). Uses dbt.safe_cast (try_cast on DuckDB). -#}
    {%- set types = {
        'string': dbt.type_string,
        'bigint': dbt.type_bigint,
        'double': type_double,
        'boolean': dbt.type_boolean,
        'timestamp': type_timestamp_utc,
    } -%}
    {%- if kind == 'date' -%}
        {%- set type_name = 'date' -%}
    {%- elif kind in types -%}
        {%- set type_name = types[kind]() -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("cast_as: unknown kind " ~ kind) }}
    {%- endif -%}
    {{ dbt.safe_cast(expr, type_name) }}
{%- endmacro %}


{% macro type_bigint() %}
    {#- 64-bit integer (dbt's cross-database bigint). -#}
    {{ return(dbt.type_bigint()) }}
{% endmacro %}
