{#- The parameters of one objectivity check as one row per school year, a column per parameter code:
    `inner join ({{ objectivity_parameters('O3', ['min_n', 'alpha']) }}) as params using (school_year)`.
    rule_version is the check's own version (the row of the check, not of «all», when both exist). -#}
{% macro objectivity_parameters(check_code, codes) -%}
    select
        school_year,
        {%- for code in codes %}
        max(value) filter (where parameter_code = '{{ code }}') as {{ code }},
        {%- endfor %}
        max(rule_version) filter (where rule_version like '{{ check_code }}-%') as rule_version
    from {{ ref('int_objectivity_parameters') }}
    where check_code = '{{ check_code }}'
    group by school_year
{%- endmacro %}
