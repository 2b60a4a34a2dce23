-- Per customer: when and how the journey started (first values by event_seq).
with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

events as (

    select
        customer_id,
        event_seq,
        occurred_at,
        channel,
        campaign_id,
        account_id,
        {{ json_string('properties', 'segment') }} as segment

    from timeline

),

final as (

    select
        customer_id,
        min(occurred_at) as first_seen_at,
        {{ first_by('channel', 'event_seq') }} as first_touch_channel,
        {{ first_by('campaign_id', 'event_seq') }} as first_touch_campaign_id,
        {{ first_by('account_id', 'event_seq') }} as account_id,
        {{ first_by('segment', 'event_seq') }} as segment

    from events

    group by 1

)

select * from final
