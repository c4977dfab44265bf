{#- The last step of a cell-level objectivity check (contract C1): Holm's step-down adjustment of the p-values
    within the school-year of the check, the status, and the contract's columns in their order and types.
    `rows` is a CTE with the contract's columns except status and p_adjusted, plus
    rule_fires (boolean: the check's rule holds before the significance guard), alpha (the family level) and
    insufficient_status ('недостаточно данных' or 'нет данных', used when insufficient_reason is not null).
    A row is «признак» only when its rule holds and its Holm-adjusted p is below alpha: percentile rules flag
    a fixed share of honest cells by construction, the guard keeps them to the cells that differ beyond chance. -#}
{% macro objectivity_finalize(rows) -%}
    select
        school_id::text as school_id,
        school_year::integer as school_year,
        procedure_code::text as procedure_code,
        subject_code::text as subject_code,
        grade::integer as grade,
        check_code::text as check_code,
        sub_check::text as sub_check,
        data_basis::text as data_basis,
        case
            when insufficient_reason is not null then insufficient_status
            when rule_fires and p_adjusted < alpha then 'признак'
            else 'нет признаков'
        end::text as status,
        n_participants::integer as n_participants,
        effect::double precision as effect,
        effect_unit::text as effect_unit,
        threshold::double precision as threshold,
        comparison::text as comparison,
        region_value::double precision as region_value,
        p_value::double precision as p_value,
        p_adjusted::double precision as p_adjusted,
        percentile::double precision as percentile,
        rule_version::text as rule_version,
        explanation::text as explanation,
        insufficient_reason::text as insufficient_reason
    from (
        select
            *,
            -- Holm: the i-th smallest of m p-values times (m − i + 1), made monotone by a running maximum
            case when p_value is not null then least(1, max(holm_step) over (
                partition by school_id, school_year order by p_value asc nulls last, holm_order asc
                rows between unbounded preceding and current row
            )) end as p_adjusted
        from (
            select
                *,
                (count(p_value) over (partition by school_id, school_year)
                    - row_number() over (
                        partition by school_id, school_year
                        order by p_value asc nulls last, subject_code asc, grade asc, sub_check asc
                    ) + 1) * p_value as holm_step,
                row_number() over (
                    partition by school_id, school_year
                    order by p_value asc nulls last, subject_code asc, grade asc, sub_check asc
                ) as holm_order
            from {{ rows }}
        ) as stepped
    ) as adjusted
{%- endmacro %}
