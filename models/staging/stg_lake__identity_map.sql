with

raw_identity_map as (

    select * from {{ source('lake', 'identity_map') }}

),

renamed as (

    select
        identifier_type,
        identifier_value,
        customer_id,
        first_seen_at,
        last_seen_at,
        first_received_at

    from raw_identity_map

)

select * from renamed
