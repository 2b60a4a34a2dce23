{#- Aggregates whose spelling differs between engines. -#}

{% macro first_by(expr, order_by) %}
    {#- Aggregate: the first non-null value of expr in the order order_by
        (e.g. 'event_seq' or 'event_seq desc' for the last one). -#}
    {{ return(adapter.dispatch('first_by', 'journeyline')(expr, order_by)) }}
{% endmacro %}

{% macro default__first_by(expr, order_by) -%}
    (array_agg({{ expr }} order by {{ order_by }})
        filter (where {{ expr }} is not null))[1]
{%- endmacro %}

{% macro duckdb__first_by(expr, order_by) -%}
    first({{ expr }} order by {{ order_by }})
        filter (where {{ expr }} is not null)
{%- endmacro %}

{% macro bigquery__first_by(expr, order_by) -%}
    {#- No `limit 1` inside: same result, and the BigQuery emulator's parser
        (tests) cannot read ignore nulls + order by + limit together. -#}
    array_agg({{ expr }} ignore nulls order by {{ order_by }})[safe_offset(0)]
{%- endmacro %}


{% macro percentile(expr, fraction) %}
    {#- Aggregate: the continuous percentile (0 < fraction < 1) of expr.
        BigQuery has no aggregate percentile_cont: it uses approx_quantiles. -#}
    {%- if not (fraction > 0 and fraction < 1) -%}
        {{ exceptions.raise_compiler_error("percentile fraction must be in (0, 1), got " ~ fraction) }}
    {%- endif -%}
    {{ return(adapter.dispatch('percentile', 'journeyline')(expr, fraction)) }}
{% endmacro %}

{% macro default__percentile(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__percentile(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }})
{%- endmacro %}

{% macro bigquery__percentile(expr, fraction) -%}
    approx_quantiles({{ expr }}, 100)[safe_offset({{ (fraction * 100) | round | int }})]
{%- endmacro %}


{% macro median(expr) -%}
    {{ percentile(expr, 0.5) }}
{%- endmacro %}


{% macro count_where(condition) -%}
    {#- Aggregate: rows where condition holds, as a bigint on every engine
        (DuckDB sums integers into a 128-bit hugeint). -#}
    count(case when {{ condition }} then 1 end)
{%- endmacro %}


{% macro sum_bigint(expr) -%}
    {#- Aggregate: sum of whole numbers (e.g. counts), as a bigint. -#}
    cast(sum({{ expr }}) as {{ type_bigint() }})
{%- endmacro %}


{% macro string_agg_ordered(expr, delimiter, order_by) -%}
    {#- Aggregate: expr values joined by delimiter (a plain string) in the
        order order_by (e.g. 'event_seq'), through dbt's cross-database listagg. -#}
    {{ dbt.listagg(expr, "'" ~ delimiter | replace("'", "''") ~ "'", 'order by ' ~ order_by) }}
{%- endmacro %}


{% macro stable_float(aggregate) -%}
    {#- A floating-point aggregate (sum, avg) rounded to 12 decimals: engines
        add partial sums in whatever order their threads finish, so the last
        bits differ between re-runs; rounded, a re-run gives identical tables. -#}
    round({{ aggregate }}, 12)
{%- endmacro %}
