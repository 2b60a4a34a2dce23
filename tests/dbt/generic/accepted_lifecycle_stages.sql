{#- The column holds a journey stage from var('stage_order') or, when
    include_outcomes, an outcome status from var('outcome_statuses'). -#}
{% test accepted_lifecycle_stages(model, column_name, include_outcomes=true) %}

{%- set allowed = journey_stages() + (outcome_statuses() if include_outcomes else []) %}

select {{ column_name }} as unexpected_value

from {{ model }}

where
    {{ column_name }} is not null
    and {{ column_name }} not in (
        {%- for value in allowed %}'{{ value }}'{{ ', ' if not loop.last }}{% endfor -%}
    )

{% endtest %}
