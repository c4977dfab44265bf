-- ВсОШ per school × school year × stage × subject. The feed gives counts, not pupils: a pupil who took
-- part in three subjects is three participations, and the same pupil is counted again at the next stage.
-- A cell of fewer participants than the minimum cell size publishes no counts.
with olympiads as (
    select * from {{ ref('stg_municipal__olympiads') }}
),

schools as (
    select * from {{ ref('dim_school') }}
),

targets as (
    select * from {{ ref('int_target_schools') }}
),

min_cell as (
    select min_cell_size from {{ ref('int_method_parameters') }}
),

suppressed as (
    select
        olympiads.*,
        coalesce(olympiads.participants between 1 and min_cell.min_cell_size - 1, false) as is_suppressed
    from olympiads
    cross join min_cell
)

select
    suppressed.school_id::text as school_id,
    schools.school_name::text as school_name,
    schools.municipality::text as municipality,
    suppressed.school_year::integer as school_year,
    suppressed.stage_code::text as stage_code,
    suppressed.stage_name::text as stage_name,
    suppressed.stage_order::integer as stage_order,
    suppressed.subject::text as subject,
    (targets.school_id is not null)::boolean as is_target_group,
    suppressed.is_suppressed::boolean as is_suppressed,
    case when not suppressed.is_suppressed then suppressed.participants end::integer as participants,
    case when not suppressed.is_suppressed then suppressed.winners end::integer as winners,
    case when not suppressed.is_suppressed then suppressed.prize_winners end::integer as prize_winners,
    case when not suppressed.is_suppressed then suppressed.winners + suppressed.prize_winners end::integer
        as winners_and_prize_winners,
    round(case
        when not suppressed.is_suppressed
            then 100.0 * (suppressed.winners + suppressed.prize_winners) / nullif(suppressed.participants, 0)
    end, 2)::numeric(7, 2) as share_winners_and_prize_winners
from suppressed
left join schools on suppressed.school_id = schools.school_id
left join targets on suppressed.school_id = targets.school_id and suppressed.school_year = targets.school_year
