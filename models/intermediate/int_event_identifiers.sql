-- One row per timeline event and identifier it carried (type and normalised
-- value): what each touchpoint knew about the customer.
with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

events as (

    select
        customer_id,
        event_id,
        event_seq,
        identifiers

    from timeline

),

final as (

    {{ explode_identifiers(
        'events', ['customer_id', 'event_id', 'event_seq']
    ) }}

)

select * from final
