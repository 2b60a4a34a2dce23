-- Per customer: how consistent the experience was (SPEC §7). Survey scores
-- are normalised to 0-1 (fct_survey_answers). experience_spread is the
-- range (max - min) of the mean normalised score per stream × channel, when
-- the customer answered on two or more of them; the buyer journey is every
-- answer before the customer stage was reached (all answers when never
-- reached), the customer journey every answer from then on. Post-purchase
-- friction: a ticket opened or a detractor answer within the window after
-- becoming a customer (null for customers who never became one).
{%- set friction_days = metric_number('post_purchase_window_days') %}

with

customers as (

    select * from {{ ref('customers') }}

),

stages_reached as (

    select * from {{ ref('int_customers_stages_reached') }}

),

survey_answers as (

    select * from {{ ref('fct_survey_answers') }}

),

tickets as (

    select * from {{ ref('int_tickets') }}

),

customer_starts as (

    select
        customers.customer_id,
        min(stages_reached.reached_at) as customer_at

    from customers

    left join stages_reached
        on
            customers.customer_id = stages_reached.customer_id
            and stages_reached.stage
            = {{ metric_name('customer_stage') }}

    group by 1

),

touchpoint_scores as (

    select
        customer_id,
        stream,
        channel,
        {{ stable_float('avg(normalised_score)') }} as mean_score

    from survey_answers

    group by 1, 2, 3

),

spreads as (

    select
        customer_id,
        case
            when count(*) > 1 then max(mean_score) - min(mean_score)
        end as experience_spread

    from touchpoint_scores

    group by 1

),

phased_answers as (

    select
        survey_answers.customer_id,
        survey_answers.normalised_score,
        case
            when
                customer_starts.customer_at is null
                or survey_answers.answered_at < customer_starts.customer_at
                then survey_answers.normalised_score
        end as buyer_score,
        case
            when survey_answers.answered_at >= customer_starts.customer_at
                then survey_answers.normalised_score
        end as customer_score

    from survey_answers

    inner join customer_starts
        on survey_answers.customer_id = customer_starts.customer_id

),

journey_scores as (

    select
        customer_id,
        count(*) as survey_answers_count,
        {{ stable_float('avg(normalised_score)') }} as experience_score,
        {{ stable_float('avg(buyer_score)') }} as buyer_journey_score,
        {{ stable_float('avg(customer_score)') }} as customer_journey_score

    from phased_answers

    group by 1

),

friction_signals as (

    select
        customer_id,
        opened_at as signal_at

    from tickets

    union all

    select
        customer_id,
        answered_at as signal_at

    from survey_answers

    where is_detractor_answer

),

friction as (

    select
        customer_starts.customer_id,
        count(friction_signals.signal_at) > 0 as has_post_purchase_friction

    from customer_starts

    left join friction_signals
        on
            customer_starts.customer_id = friction_signals.customer_id
            and customer_starts.customer_at <= friction_signals.signal_at
            and {{ days_between(
                'customer_starts.customer_at', 'friction_signals.signal_at'
            ) }} <= {{ friction_days }}

    where customer_starts.customer_at is not null

    group by 1

),

final as (

    select
        customer_starts.customer_id,
        customer_starts.customer_at,
        journey_scores.experience_score,
        spreads.experience_spread,
        journey_scores.buyer_journey_score,
        journey_scores.customer_journey_score,
        friction.has_post_purchase_friction,
        coalesce(journey_scores.survey_answers_count, 0)
            as survey_answers_count,
        journey_scores.customer_journey_score
        - journey_scores.buyer_journey_score as buyer_customer_gap

    from customer_starts

    left join journey_scores
        on customer_starts.customer_id = journey_scores.customer_id

    left join spreads
        on customer_starts.customer_id = spreads.customer_id

    left join friction
        on customer_starts.customer_id = friction.customer_id

)

select * from final
