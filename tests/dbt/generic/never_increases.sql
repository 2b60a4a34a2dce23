{#- Within each group, ordered by order_by, the column never grows from one
    row to the next (e.g. funnel counts down the stages). -#}
{% test never_increases(model, column_name, group_by, order_by) %}

with

ordered as (

    select
        *,
        lag({{ column_name }}) over (
            partition by {{ group_by | join(', ') }}
            order by {{ order_by }}
        ) as previous_value

    from {{ model }}

)

select * from ordered

where {{ column_name }} > previous_value

{% endtest %}
