with

raw_identity_conflicts as (

    select * from {{ source('lake', 'identity_conflicts') }}

),

renamed as (

    select
        rule,
        identifier_type,
        identifier_value,
        customer_id,
        other_identifier_type,
        other_identifier_value,
        other_customer_id,
        detail

    from raw_identity_conflicts

)

select * from renamed
