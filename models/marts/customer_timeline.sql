{{
    config(
        partition_by=bigquery_partition_by('event_date', 'date'),
        cluster_by=bigquery_cluster_by(['customer_id', 'event_seq']),
    )
}}

with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

final as (

    select
        event_id,
        customer_id,
        event_seq,
        occurred_at,
        stream,
        source,
        event_type,
        channel,
        campaign_id,
        message_theme,
        account_id,
        amount,
        currency,
        score,
        survey_type,
        identifiers,
        lifecycle_stage,
        stage_changed,
        properties,
        received_at,
        event_date

    from timeline

)

select * from final
