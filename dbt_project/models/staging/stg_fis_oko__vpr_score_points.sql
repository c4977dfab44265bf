-- The points of the ВПР score distributions: the share of participants at each primary score, from the ФИС ОКО
-- «Распределение первичных баллов» report (source_rank 1) and the regional flat extract (2), one row per source
-- row × score. A point with a negative score or a share outside 0–100 % is left out. Read by
-- stg_fis_oko__vpr_score_distributions (mean and variance) and int_score_histograms (counts per score).
select
    1 as source_rank,
    load_id,
    source_row,
    score,
    pct
from {{ source('raw', 'vpr_score_stat_points') }}
where score >= 0 and pct between 0 and 100
union all
select
    2 as source_rank,
    load_id,
    source_row,
    score,
    pct
from {{ source('raw', 'vpr_flat_score_points') }}
where score >= 0 and pct between 0 and 100
