{{
    config(
        cluster_by=bigquery_cluster_by(['identifier_type', 'identifier_value']),
    )
}}

with

identity_map as (

    select * from {{ ref('stg_lake__identity_map') }}

),

final as (

    select
        identifier_type,
        identifier_value,
        customer_id,
        first_seen_at,
        last_seen_at,
        first_received_at

    from identity_map

)

select * from final
