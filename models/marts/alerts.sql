with

alerts as (

    select * from {{ ref('stg_stream__alerts') }}

),

timeline as (

    select
        event_id,
        customer_id

    from {{ ref('stg_lake__timeline') }}

),

numbered as (

    select
        *,
        row_number() over (
            partition by alert_id order by raised_at
        ) as copy_number

    from alerts

),

remapped as (

    select
        numbered.alert_id,
        numbered.alert_type,
        numbered.raised_at,
        numbered.details,
        -- the current customer of the alert's event: merges move alerts too
        coalesce(
            timeline.customer_id, numbered.customer_id
        ) as customer_id

    from numbered
    left join timeline
        on {{ json_string('numbered.details', 'event_id') }} = timeline.event_id
    where numbered.copy_number = 1

),

final as (

    select
        alert_id,
        alert_type,
        customer_id,
        raised_at,
        details

    from remapped

)

select * from final
