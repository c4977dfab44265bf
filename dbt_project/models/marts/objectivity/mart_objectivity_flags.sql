-- Objectivity checks O1–O10 per school × year × procedure × subject × grade × check × sub-check: the contract rows
-- of every check model (intermediate.int_objectivity_o1 … o10), with the school's name, its municipality and the
-- check's name. A check that could not be computed keeps its row («недостаточно данных» / «нет данных» with the
-- reason). Rows say «признак», never a verdict.
{%- set checks = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7', 'o8', 'o9', 'o10'] %}
with checks as (
    {%- for check in checks %}
    select * from {{ ref('int_objectivity_' ~ check) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

check_names as (
    select *
    from (
        values
        ('O1', 'Результат ВПР намного выше региона и не подтверждён ГИА'),
        ('O2', 'Лёгкие задания выполнены хуже, трудные — лучше'),
        ('O3', 'Пики у границ отметок'),
        ('O4', 'Расхождение отметок ВПР с отметками по журналу'),
        ('O5', 'Резкий рост, затем падение'),
        ('O6', 'Падение той же параллели через год'),
        ('O7', 'Расхождение с независимой перепроверкой'),
        ('O8', 'Сходство ответов и неправдоподобные профили ответов'),
        ('O9', 'Неправдоподобно однородные результаты'),
        ('O10', 'Почти нет «2» по итогам года при многих «2» на ВПР')
    ) as check_list (check_code, check_name)
)

select
    checks.school_id,
    schools.school_name,
    schools.municipality,
    checks.school_year,
    checks.procedure_code,
    checks.subject_code,
    checks.grade,
    checks.check_code,
    check_names.check_name,
    checks.sub_check,
    checks.data_basis,
    checks.status,
    checks.n_participants,
    checks.effect,
    checks.effect_unit,
    checks.threshold,
    checks.comparison,
    checks.region_value,
    checks.p_value,
    checks.p_adjusted,
    checks.percentile,
    checks.rule_version,
    checks.explanation,
    checks.insufficient_reason
from checks
left join {{ ref('dim_school') }} as schools on checks.school_id = schools.school_id
left join check_names on checks.check_code = check_names.check_code
