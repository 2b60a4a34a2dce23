{{
    config(
        partition_by=bigquery_partition_by('answered_at', 'timestamp', 'month'),
        cluster_by=bigquery_cluster_by(['survey_type', 'lifecycle_stage']),
    )
}}

-- One row per survey answer (nps, csat, ces) with the score normalised to
-- 0-1 (1 = best; CES inverted since less effort is better) and its NPS / CSAT
-- class. lifecycle_stage is the stage of the answer's own timeline row.
{%- set scales = journey_param('cx', 'scales') %}
{%- set survey_types = "'" ~ (scales | list | join("', '")) ~ "'" %}

with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

answers as (

    select
        event_id,
        customer_id,
        event_seq,
        occurred_at as answered_at,
        stream,
        channel,
        lifecycle_stage,
        survey_type,
        score

    from timeline

    where
        survey_type in ({{ survey_types }})
        and score is not null

),

final as (

    select
        event_id,
        customer_id,
        event_seq,
        answered_at,
        stream,
        channel,
        lifecycle_stage,
        survey_type,
        score,
        case survey_type
            {%- for name, scale in scales.items() %}
            {%- set low, high = scale['min'], scale['max'] %}
            {%- set best = high if scale['higher_is_better'] else low %}
            when '{{ name }}'
                then abs(score - {{ high + low - best }}) / {{ high - low }}
            {%- endfor %}
        end as normalised_score,
        survey_type = 'nps'
        and score
        >= {{ journey_number('cx', 'nps_promoter_min') }} as is_promoter,
        survey_type = 'nps'
        and score
        <= {{ journey_number('cx', 'nps_detractor_max') }} as is_detractor,
        survey_type = 'csat'
        and score
        >= {{ journey_number('cx', 'csat_satisfied_min') }} as is_satisfied,
        (
            survey_type = 'nps'
            and score <= {{ journey_number('cx', 'nps_detractor_max') }}
        )
        or (
            survey_type = 'csat'
            and score <= {{ journey_number('cx', 'csat_detractor_max') }}
        ) as is_detractor_answer

    from answers

)

select * from final
