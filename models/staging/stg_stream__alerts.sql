with

raw_alerts as (

    select * from {{ source('stream', 'alerts') }}

),

renamed as (

    select
        alert_id,
        alert_type,
        customer_id,
        raised_at,
        details

    from raw_alerts

)

select * from renamed
