-- Per customer and slicing dimension: the cohort (UTC month of first touch)
-- and the customer's value in that dimension ('all' for the whole base,
-- 'unknown' when the value is missing). Funnel and consistency aggregates
-- slice by these rows, so a customer counts once per dimension.
with

customers as (

    select * from {{ ref('customers') }}

),

customer_cohorts as (

    select
        customer_id,
        {{ month_start('first_seen_at') }} as cohort_month,
        first_touch_channel,
        segment,
        account_id,
        first_touch_campaign_id

    from customers

),

final as (

    select
        customer_id,
        cohort_month,
        'all' as dimension,
        'all' as dimension_value
    from customer_cohorts

    {%- for dimension, column in [
        ('first_touch_channel', 'first_touch_channel'),
        ('segment', 'segment'),
        ('account', 'account_id'),
        ('first_touch_campaign', 'first_touch_campaign_id'),
    ] %}

    union all

    select
        customer_id,
        cohort_month,
        '{{ dimension }}' as dimension,
        coalesce({{ column }}, 'unknown') as dimension_value
    from customer_cohorts
    {%- endfor %}

)

select * from final
