{{ config(cluster_by=bigquery_cluster_by(['customer_id'])) }}

with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

first_touch as (

    select * from {{ ref('int_customers_first_touch') }}

),

stages_reached as (

    select * from {{ ref('int_customers_stages_reached') }}

),

customer_activity as (

    select
        customer_id,
        count(*) as events_count,
        max(occurred_at) as last_seen_at,
        {{ first_by('lifecycle_stage', 'event_seq desc') }} as current_stage

    from timeline

    group by 1

),

stage_times as (

    select
        customer_id,
        {%- for stage in journey_stages() %}
        min(
            case when stage = '{{ stage }}' then reached_at end
        ) as {{ stage }}_at,
        {%- endfor %}
        max(stage_rank) as highest_stage_rank

    from stages_reached

    group by 1

),

final as (

    select
        first_touch.customer_id,
        first_touch.first_seen_at,
        customer_activity.current_stage,
        {%- for stage in journey_stages() %}
        stage_times.{{ stage }}_at,
        {%- endfor %}
        first_touch.first_touch_channel,
        first_touch.account_id,
        first_touch.segment,
        customer_activity.events_count,
        customer_activity.last_seen_at,
        stage_times.highest_stage_rank,
        first_touch.first_touch_campaign_id

    from first_touch

    inner join customer_activity
        on first_touch.customer_id = customer_activity.customer_id

    left join stage_times
        on first_touch.customer_id = stage_times.customer_id

)

select * from final
