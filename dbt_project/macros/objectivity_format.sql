{#- Numbers in Russian explanations: a decimal comma, `digits` after it. -#}
{% macro ru_num(expr, digits=1) -%}
    replace(round(({{ expr }})::numeric, {{ digits }})::text, '.', ',')
{%- endmacro %}

{#- A p-value as it reads in an explanation: «p < 0,001» below 0.001, else three decimals. -#}
{% macro ru_p(expr) -%}
    case when ({{ expr }}) < 0.001 then 'p < 0,001' else 'p = ' || {{ ru_num(expr, 3) }} end
{%- endmacro %}
