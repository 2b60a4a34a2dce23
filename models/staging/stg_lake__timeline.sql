with

raw_timeline as (

    select * from {{ source('lake', 'timeline') }}

),

renamed as (

    select
        ---------- ids
        event_id,
        customer_id,
        event_seq,
        account_id,
        campaign_id,

        ---------- event
        source,
        stream,
        event_type,
        channel,
        message_theme,
        identifiers,
        properties,

        ---------- money and surveys
        amount,
        currency,
        score,
        survey_type,

        ---------- journey (computed upstream by the Beam job)
        lifecycle_stage,
        stage_changed,

        ---------- timestamps (UTC)
        occurred_at,
        received_at,
        event_date

    from raw_timeline

)

select * from renamed
