-- One row per conversion × touchpoint with each attribution model's credit.
-- A conversion is a customer's first entry into a stage of
-- var attribution.conversion_stages (a skipped stage is no conversion); its
-- touchpoints are the customer's events with a channel up to and including
-- the converting event (by event_seq). Credits of one conversion sum to 1 in
-- every model: first-touch, last-touch, linear, and position-based (first and
-- last get their weights, the middle shares the rest; two touchpoints split
-- in the ratio of the two weights, one takes all).
{%- set first_weight = journey_number('attribution', 'position_first_weight') %}
{%- set last_weight = journey_number('attribution', 'position_last_weight') %}
{%- set weights_total = first_weight + last_weight %}
{%- if first_weight < 0 or last_weight < 0 or not (0 < weights_total <= 1) %}
    {{ exceptions.raise_compiler_error(
        "attribution position weights must be >= 0 with a sum in (0, 1], got "
        ~ first_weight ~ " and " ~ last_weight) }}
{%- endif %}
{%- set middle_weight = (1 - weights_total) | round(10) %}

with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

stages_reached as (

    select * from {{ ref('int_customers_stages_reached') }}

),

conversions as (

    select
        customer_id,
        stage as conversion_stage,
        reached_at as converted_at,
        reached_event_seq as conversion_event_seq

    from stages_reached

    where stage in ({{ journey_names('attribution', 'conversion_stages') }})

),

touchpoints as (

    select
        conversions.customer_id,
        conversions.conversion_stage,
        conversions.converted_at,
        timeline.event_id,
        timeline.event_seq,
        timeline.channel,
        timeline.campaign_id,
        row_number() over (
            partition by conversions.customer_id, conversions.conversion_stage
            order by timeline.event_seq
        ) as touchpoint_position,
        count(*) over (
            partition by conversions.customer_id, conversions.conversion_stage
        ) as touchpoints_in_path

    from conversions

    inner join timeline
        on
            conversions.customer_id = timeline.customer_id
            and conversions.conversion_event_seq >= timeline.event_seq

    where timeline.channel is not null

),

final as (

    select
        customer_id,
        conversion_stage,
        converted_at,
        event_id,
        event_seq,
        channel,
        campaign_id,
        touchpoint_position,
        touchpoints_in_path,
        cast(
            case when touchpoint_position = 1 then 1 else 0 end
            as {{ type_double() }}
        ) as first_touch_credit,
        cast(
            case
                when touchpoint_position = touchpoints_in_path then 1 else 0
            end
            as {{ type_double() }}
        ) as last_touch_credit,
        cast(1 as {{ type_double() }}) / touchpoints_in_path as linear_credit,
        cast(case
            when touchpoints_in_path = 1 then 1.0
            when touchpoints_in_path = 2 and touchpoint_position = 1
                then {{ (first_weight / weights_total) | round(10) }}
            when touchpoints_in_path = 2
                then {{ (last_weight / weights_total) | round(10) }}
            when touchpoint_position = 1 then {{ first_weight }}
            when
                touchpoint_position = touchpoints_in_path
                then {{ last_weight }}
            else
                {{ middle_weight }} / (touchpoints_in_path - 2)
        end as {{ type_double() }}) as position_based_credit

    from touchpoints

)

select * from final
