-- The top of an ЕГЭ conversion scale is the maximum primary score: where gia_max_primary also gives it for
-- the same year, the two must agree (and a scale must run from 0 to its top without gaps).
with scales as (
    select * from {{ ref('ege_score_scales') }}
),

gia_max as (
    select * from {{ ref('gia_max_primary') }}
    where exam = 'EGE'
),

tops as (
    select
        subject_code,
        valid_from,
        valid_to,
        min(primary_score) as bottom,
        max(primary_score) as top,
        count(*) as n_rows
    from scales
    group by subject_code, valid_from, valid_to
)

select
    tops.subject_code,
    tops.valid_from,
    tops.top,
    gia_max.year,
    gia_max.max_primary_score
from tops
left join gia_max
    on
        tops.subject_code = gia_max.subject_code
        and gia_max.year between tops.valid_from and tops.valid_to
where
    gia_max.max_primary_score <> tops.top
    or tops.bottom <> 0
    or tops.n_rows <> tops.top + 1
