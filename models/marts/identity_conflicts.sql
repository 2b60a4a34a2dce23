with

identity_conflicts as (

    select * from {{ ref('stg_lake__identity_conflicts') }}

),

final as (

    select
        rule,
        identifier_type,
        identifier_value,
        customer_id,
        other_identifier_type,
        other_identifier_value,
        other_customer_id,
        detail

    from identity_conflicts

)

select * from final
