{#- Metric parameters from the project vars (dbt_project.yml → vars), read in
    one place so a typo or a missing key fails at compile time with its name. -#}

{% macro journey_param(group, key) %}
    {#- var(group)[key], e.g. journey_param('sla', 'speed_to_lead_hours'). -#}
    {%- set values = var(group, none) -%}
    {%- if values is not mapping or key not in values or values[key] is none -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ group ~ "' needs the key '" ~ key ~ "', got " ~ values) }}
    {%- endif -%}
    {{ return(values[key]) }}
{% endmacro %}


{% macro journey_number(group, key) %}
    {#- A numeric parameter, checked to be a number (it is pasted into SQL). -#}
    {%- set value = journey_param(group, key) -%}
    {%- if value is boolean or value is not number -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ group ~ "." ~ key ~ "' must be a number, got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}


{% macro journey_names(group, key) %}
    {#- A list of lower_snake_case names (event types, stages), as a SQL list
        body: 'a', 'b'. -#}
    {%- set values = journey_param(group, key) -%}
    {%- if values is string -%}{%- set values = [values] -%}{%- endif -%}
    {%- for value in values -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', value | string) -%}
            {{ exceptions.raise_compiler_error(
                "var '" ~ group ~ "." ~ key ~ "' holds " ~ value ~ ", not a lower_snake_case name") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return("'" ~ (values | join("', '")) ~ "'") }}
{% endmacro %}


{% macro journey_name(group, key) %}
    {#- One lower_snake_case name as a SQL string literal. -#}
    {%- set value = journey_param(group, key) -%}
    {%- if value is not string or not modules.re.match('^[a-z][a-z0-9_]*$', value) -%}
        {{ exceptions.raise_compiler_error(
            "var '" ~ group ~ "." ~ key ~ "' must be a lower_snake_case name, got " ~ value) }}
    {%- endif -%}
    {{ return("'" ~ value ~ "'") }}
{% endmacro %}


{% macro metric_params_fingerprint() %}
    {#- A short fingerprint of every parameter the journey metrics depend on:
        incremental marts store it per row and rebuild every row when it changes. -#}
    {%- set params = {
        'sla': var('sla'),
        'journey_metrics': var('journey_metrics'),
        'cx': var('cx'),
        'stage_order': journey_stages(),
    } -%}
    {{ return(local_md5(tojson(params, sort_keys=true))[:16]) }}
{% endmacro %}


{#- Shorthands for the journey_metrics group. -#}
{% macro metric_name(key) %}{{ return(journey_name('journey_metrics', key)) }}{% endmacro %}
{% macro metric_names(key) %}{{ return(journey_names('journey_metrics', key)) }}{% endmacro %}
{% macro metric_number(key) %}{{ return(journey_number('journey_metrics', key)) }}{% endmacro %}
{% macro metric_param(key) %}{{ return(journey_param('journey_metrics', key)) }}{% endmacro %}
