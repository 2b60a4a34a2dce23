{#- The journey (SPEC §5), read from the project vars so the stage order is
    written down in exactly one place (dbt_project.yml → vars.stage_order). -#}

{% macro _checked_names(var_name) %}
    {%- set names = var(var_name) -%}
    {%- if names is string or names is not iterable or names | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ var_name ~ "' must be a non-empty list of names, got " ~ names) }}
    {%- endif -%}
    {%- for name in names -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', name | string) -%}
            {{ exceptions.raise_compiler_error(
                "var '" ~ var_name ~ "' holds " ~ name ~ ", not a lower_snake_case name") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | list) }}
{% endmacro %}


{% macro journey_stages() %}
    {#- The ordered funnel stages, first to last. -#}
    {{ return(_checked_names('stage_order')) }}
{% endmacro %}


{% macro outcome_statuses() %}
    {#- Outcome statuses (lost, churned): lifecycle values beside the stages. -#}
    {{ return(_checked_names('outcome_statuses')) }}
{% endmacro %}


{% macro stage_rank(column) %}
    {#- 1-based position of a stage in the journey; null for outcomes. -#}
    case {{ column }}
    {%- for stage in journey_stages() %}
        when '{{ stage }}' then {{ loop.index }}
    {%- endfor %}
    end
{%- endmacro %}


{% macro journey_stages_rows() %}
    {#- A select of the journey stages as rows (stage, stage_rank), for a CTE. -#}
    {%- for stage in journey_stages() %}
    select
        '{{ stage }}' as stage,
        {{ loop.index }} as stage_rank
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
