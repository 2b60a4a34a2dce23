with

raw_dq_results as (

    select * from {{ source('ops', 'dq_results') }}

),

renamed as (

    select
        {{ cast_as('run_id', 'string') }} as run_id,
        {{ cast_as('check_name', 'string') }} as check_name,
        {{ cast_as('target', 'string') }} as target,
        {{ cast_as('severity', 'string') }} as severity,
        {{ cast_as('status', 'string') }} as status,
        {{ cast_as('observed_value', 'double') }} as observed_value,
        {{ cast_as('threshold', 'string') }} as threshold,
        {{ cast_as('details', 'string') }} as details,
        {{ cast_as('samples', 'string') }} as samples,
        {{ cast_as('checked_at', 'timestamp') }} as checked_at

    from raw_dq_results

)

select * from renamed
