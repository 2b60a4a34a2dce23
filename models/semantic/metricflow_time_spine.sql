{{ config(materialized='table') }}

-- MetricFlow's daily time spine: one row per UTC day between the vars
-- time_spine_start (included) and time_spine_end (excluded).
with

days as (

    {{ day_spine(var('time_spine_start'), var('time_spine_end')) }}

),

final as (

    select cast(date_day as date) as date_day

    from days

)

select * from final
