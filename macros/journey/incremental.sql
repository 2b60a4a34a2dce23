{#- Incremental marts at the customer grain. -#}

{% macro incremental_run() %}
    {#- is_incremental(), except that an offline compile (--no-introspect)
        cannot ask the warehouse whether the table exists: it renders the
        full-refresh SQL, or the incremental SQL when var
        compile_incremental_sql is true (so both can be checked offline). -#}
    {%- if flags.INTROSPECT is defined and not flags.INTROSPECT -%}
        {{ return(var('compile_incremental_sql', false) | as_bool) }}
    {%- endif -%}
    {{ return(is_incremental()) }}
{% endmacro %}

{% macro customer_incremental_strategy() %}
    {#- Replace a customer's row wholesale: delete+insert on DuckDB, merge on
        BigQuery (which has no delete+insert). -#}
    {{ return('merge' if target.type == 'bigquery' else 'delete+insert') }}
{% endmacro %}


{% macro delete_vanished_customers(customers_relation) %}
    {#- post_hook: rows of customers that no longer exist (merged into another
        customer by identity resolution, or erased) leave the incremental mart. -#}
    {%- if incremental_run() -%}
        delete from {{ this }}
        where customer_id not in (select customer_id from {{ customers_relation }})
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{% endmacro %}
