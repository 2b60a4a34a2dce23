with

quarantine as (

    select * from {{ ref('stg_lake__quarantine') }}

),

final as (

    select
        run_id,
        source,
        reason_code,
        reason,
        raw,
        received_at,
        location

    from quarantine

)

select * from final
