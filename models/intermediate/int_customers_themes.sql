-- Per customer with at least one themed touchpoint (message_theme not null):
-- the most frequent theme (ties: the one told first), the share of themed
-- touchpoints telling it, and how often the story changed between
-- consecutive themed touchpoints — overall and together with a change of
-- department (stream).
with

timeline as (

    select * from {{ ref('stg_lake__timeline') }}

),

themed as (

    select
        customer_id,
        event_seq,
        stream,
        message_theme,
        lag(message_theme) over (
            partition by customer_id order by event_seq
        ) as previous_theme,
        lag(stream) over (
            partition by customer_id order by event_seq
        ) as previous_stream

    from timeline

    where message_theme is not null

),

theme_counts as (

    select
        customer_id,
        message_theme,
        count(*) as touchpoints_count,
        min(event_seq) as first_event_seq

    from themed

    group by 1, 2

),

ranked_themes as (

    select
        customer_id,
        message_theme,
        touchpoints_count,
        row_number() over (
            partition by customer_id
            order by touchpoints_count desc, first_event_seq asc
        ) as theme_rank

    from theme_counts

),

changes as (

    select
        customer_id,
        count(*) as themed_touchpoints_count,
        {{ count_where('message_theme != previous_theme') }}
            as theme_changes_count,
        {{ count_where(
            'message_theme != previous_theme and stream != previous_stream'
        ) }} as theme_changes_at_handoff_count

    from themed

    group by 1

),

final as (

    select
        changes.customer_id,
        changes.themed_touchpoints_count,
        ranked_themes.message_theme as primary_theme,
        ranked_themes.touchpoints_count as primary_theme_touchpoints_count,
        cast(ranked_themes.touchpoints_count as {{ type_double() }})
        / changes.themed_touchpoints_count as theme_consistency,
        changes.theme_changes_count,
        changes.theme_changes_at_handoff_count

    from changes

    inner join ranked_themes
        on
            changes.customer_id = ranked_themes.customer_id
            and ranked_themes.theme_rank = 1

)

select * from final
