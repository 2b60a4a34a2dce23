-- Conversions credited to channels and campaigns (SPEC §7 attribution):
-- conversion stage × month of conversion × channel × campaign, with the
-- conversions each model gives the slice. Summed over channels and campaigns
-- every model gives a stage-month the same total: its conversions that had at
-- least one touchpoint (see int_conversion_touchpoints).
with

conversion_touchpoints as (

    select * from {{ ref('int_conversion_touchpoints') }}

),

final as (

    select
        conversion_stage,
        {{ month_start('converted_at') }} as conversion_month,
        channel,
        campaign_id,
        count(*) as touchpoints_count,
        count(distinct customer_id) as conversions_touched_count,
        {{ stable_float('sum(first_touch_credit)') }}
            as first_touch_conversions,
        {{ stable_float('sum(last_touch_credit)') }}
            as last_touch_conversions,
        {{ stable_float('sum(linear_credit)') }}
            as linear_conversions,
        {{ stable_float('sum(position_based_credit)') }}
            as position_based_conversions

    from conversion_touchpoints

    group by 1, 2, 3, 4

)

select * from final
