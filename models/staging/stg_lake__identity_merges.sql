with

raw_identity_merges as (

    select * from {{ source('lake', 'identity_merges') }}

),

renamed as (

    select
        merged_customer_id,
        into_customer_id,
        merged_at,
        run_id

    from raw_identity_merges

)

select * from renamed
