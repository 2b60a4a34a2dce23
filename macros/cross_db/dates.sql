{#- Date and time helpers. Timestamps are UTC instants (SPEC §2): on DuckDB
    `timestamp with time zone`, on BigQuery `timestamp`. -#}

{% macro days_between(start_at, end_at) %}
    {#- Fractional days from start_at to end_at (null when either is null). -#}
    {{ return(adapter.dispatch('days_between', 'journeyline')(start_at, end_at)) }}
{% endmacro %}

{% macro default__days_between(start_at, end_at) -%}
    ({{ dbt.datediff(start_at, end_at, 'second') }} / 86400.0)
{%- endmacro %}

{% macro duckdb__days_between(start_at, end_at) -%}
    ((epoch_us({{ end_at }}) - epoch_us({{ start_at }})) / 86400000000.0)
{%- endmacro %}

{% macro bigquery__days_between(start_at, end_at) -%}
    (timestamp_diff({{ end_at }}, {{ start_at }}, microsecond) / 86400000000.0)
{%- endmacro %}


{% macro utc_date(timestamp_expr) %}
    {#- The UTC calendar date of an instant, whatever the session time zone. -#}
    {{ return(adapter.dispatch('utc_date', 'journeyline')(timestamp_expr)) }}
{% endmacro %}

{% macro default__utc_date(timestamp_expr) -%}
    cast({{ timestamp_expr }} as date)
{%- endmacro %}

{% macro duckdb__utc_date(timestamp_expr) -%}
    cast(timezone('UTC', {{ timestamp_expr }}) as date)
{%- endmacro %}

{% macro bigquery__utc_date(timestamp_expr) -%}
    date({{ timestamp_expr }}, 'UTC')
{%- endmacro %}


{% macro month_start(timestamp_expr) -%}
    {#- First day (a date) of the UTC month of an instant: the cohort month. -#}
    cast({{ dbt.date_trunc('month', utc_date(timestamp_expr)) }} as date)
{%- endmacro %}


{% macro day_spine(start_date, end_date) -%}
    {#- One row per day (column date_day) from start_date (included) to
        end_date (excluded), both 'YYYY-MM-DD' strings, at most 10,000 days.
        Pure SQL (dbt.date_spine asks the warehouse how many days first, which
        an offline compile cannot). -#}
    {%- set days = [] -%}
    {%- for value in [start_date, end_date] -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
            {{ exceptions.raise_compiler_error("day_spine needs YYYY-MM-DD dates, got " ~ value) }}
        {%- endif -%}
        {%- do days.append(modules.datetime.date.fromisoformat(value | string)) -%}
    {%- endfor -%}
    {%- set span = (days[1] - days[0]).days -%}
    {%- if span < 1 or span > 10000 -%}
        {{ exceptions.raise_compiler_error("day_spine spans 1 to 10000 days, got " ~ span) }}
    {%- endif -%}
    {%- set first_day = dbt.cast("'" ~ start_date ~ "'", 'date') %}
    select
        cast({{ dbt.dateadd('day', 'day_numbers.day_number', first_day) }} as date)
            as date_day
    from (
        select ones.digit + 10 * tens.digit + 100 * hundreds.digit
            + 1000 * thousands.digit as day_number
        {%- for name in ['ones', 'tens', 'hundreds', 'thousands'] %}
        {{ 'from' if loop.first else 'cross join' }} (
            {%- for digit in range(10) %}
            select {{ digit }} as digit{{ ' union all' if not loop.last }}
            {%- endfor %}
        ) as {{ name }}
        {%- endfor %}
    ) as day_numbers
    where day_numbers.day_number < {{ span }}
{%- endmacro %}
