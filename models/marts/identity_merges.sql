with

identity_merges as (

    select * from {{ ref('stg_lake__identity_merges') }}

),

final as (

    select
        merged_customer_id,
        into_customer_id,
        merged_at,
        run_id

    from identity_merges

)

select * from final
