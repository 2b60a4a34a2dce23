{#- Within each partition (e.g. customer) the column holds exactly 1..n,
    n being the partition's row count: no gap, no duplicate, no null. -#}
{% test contiguous_sequence(model, column_name, partition_by) %}

with

per_partition as (

    select
        {{ partition_by }} as partition_key,
        count(*) as rows_count,
        count(distinct {{ column_name }}) as distinct_values,
        min({{ column_name }}) as min_value,
        max({{ column_name }}) as max_value

    from {{ model }}

    group by 1

)

select * from per_partition

where
    min_value is null
    or min_value != 1
    or max_value != rows_count
    or distinct_values != rows_count

{% endtest %}
