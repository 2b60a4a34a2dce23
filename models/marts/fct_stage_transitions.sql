{{
    config(
        partition_by=bigquery_partition_by('transitioned_at', 'timestamp', 'month'),
        cluster_by=bigquery_cluster_by(['customer_id']),
    )
}}

-- One row per stage entry: where the customer came from and how long they
-- stayed there. Outcomes (lost, churned) are entries like any other.
with

stage_entries as (

    select * from {{ ref('int_stage_entries') }}

),

with_previous as (

    select
        customer_id,
        event_id,
        event_seq,
        stage as to_stage,
        entered_at as transitioned_at,
        lag(stage) over (
            partition by customer_id order by event_seq
        ) as from_stage,
        lag(entered_at) over (
            partition by customer_id order by event_seq
        ) as previous_entered_at

    from stage_entries

),

final as (

    select
        customer_id,
        from_stage,
        to_stage,
        transitioned_at,
        {{ days_between('previous_entered_at', 'transitioned_at') }}
            as days_in_previous_stage,
        event_id,
        event_seq

    from with_previous

)

select * from final
