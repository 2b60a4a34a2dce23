{#- Incremental marts at the customer grain. -#}

{% macro customer_incremental_strategy() %}
    {#- Replace a customer's row wholesale: delete+insert on DuckDB, merge on
        BigQuery (which has no delete+insert). -#}
    {{ return('merge' if target.type == 'bigquery' else 'delete+insert') }}
{% endmacro %}


{% macro delete_vanished_customers(customers_relation) %}
    {#- post_hook: rows of customers that no longer exist (merged into another
        customer by identity resolution, or erased) leave the incremental mart. -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where customer_id not in (select customer_id from {{ customers_relation }})
    {%- else -%}
        select 1 as nothing_to_delete
    {%- endif -%}
{% endmacro %}
