with

raw_quarantine as (

    select * from {{ source('lake', 'quarantine') }}

),

renamed as (

    select
        run_id,
        source,
        reason_code,
        reason,
        raw,
        received_at,
        location

    from raw_quarantine

)

select * from renamed
