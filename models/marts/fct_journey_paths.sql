-- The stage paths customers took, most common first: the lifecycle stages
-- and outcomes each customer entered, in order (e.g. "visitor > lead > sql >
-- lost"), one row per distinct path.
with

stage_entries as (

    -- the stage entries as the transitions table holds them (one per entry);
    -- read from that table rather than the int_ view chain, which the BigQuery
    -- emulator cannot aggregate with approx_quantiles (tests/warehouse)
    select
        customer_id,
        to_stage as stage,
        event_seq,
        transitioned_at as entered_at

    from {{ ref('fct_stage_transitions') }}

),

customer_paths as (

    select
        customer_id,
        {{ string_agg_ordered('stage', ' > ', 'event_seq') }} as stage_path,
        count(*) as stages_count,
        {{ first_by('stage', 'event_seq desc') }} as final_stage,
        {{ days_between('min(entered_at)', 'max(entered_at)') }}
            as days_first_to_last

    from stage_entries

    group by 1

),

path_counts as (

    select
        stage_path,
        stages_count,
        final_stage,
        count(*) as customers_count,
        {{ median('days_first_to_last') }} as median_days_first_to_last

    from customer_paths

    group by 1, 2, 3

),

final as (

    select
        stage_path,
        stages_count,
        final_stage,
        customers_count,
        cast(customers_count as {{ type_double() }})
        / sum(customers_count) over () as share_of_customers,
        row_number() over (
            order by customers_count desc, stage_path asc
        ) as path_rank,
        median_days_first_to_last

    from path_counts

)

select * from final
