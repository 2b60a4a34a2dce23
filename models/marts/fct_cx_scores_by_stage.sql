-- CX scores by lifecycle stage at answer time (the stage of the survey's
-- own timeline row) × stream × survey type (SPEC §7): NPS = % promoters −
-- % detractors (points, −100..100), CSAT = % of answers 4-5 (0..100),
-- CES = mean answer (1..7). Each score is set on its own survey type's rows
-- only; the counts let BI tools pool rows into any coarser slice.
with

survey_answers as (

    select * from {{ ref('fct_survey_answers') }}

),

counted as (

    select
        lifecycle_stage,
        stream,
        survey_type,
        count(*) as responses_count,
        {{ count_where('is_promoter') }} as promoters_count,
        {{ count_where('is_detractor') }} as detractors_count,
        {{ count_where('is_satisfied') }} as satisfied_count,
        {{ stable_float('avg(score)') }} as mean_score,
        {{ stable_float('avg(normalised_score)') }} as mean_normalised_score

    from survey_answers

    group by 1, 2, 3

),

final as (

    select
        lifecycle_stage,
        {{ stage_rank('lifecycle_stage') }} as stage_rank,
        stream,
        survey_type,
        responses_count,
        promoters_count,
        detractors_count,
        satisfied_count,
        case
            when survey_type = 'nps'
                then
                    100.0
                    * (promoters_count - detractors_count)
                    / responses_count
        end as nps,
        case
            when survey_type = 'csat'
                then 100.0 * satisfied_count / responses_count
        end as csat,
        case when survey_type = 'ces' then mean_score end as ces,
        mean_score,
        mean_normalised_score

    from counted

)

select * from final
