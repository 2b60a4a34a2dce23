{#- No two rows share the same values in all of the given columns. -#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as rows_count

from {{ model }}

group by {{ columns | join(', ') }}

having count(*) > 1

{% endtest %}
