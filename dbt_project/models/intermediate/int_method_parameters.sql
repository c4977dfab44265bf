-- The method parameters of seed method_parameters as one row, so that models read them by name.
{%- set codes = ['min_cell_size', 'n_min_identification', 'worst_share_entry', 'worst_share_exit',
                 'fail_increase_pp', 'dynamics_min_n', 'objectivity_min_n', 'confidence_z', 'alpha',
                 'fisher_small_count', 'reliability_high_n', 'reliability_medium_n', 'reliability_low_n',
                 'min_procedures', 'entry_years_required', 'entry_window_years', 'adverse_share',
                 'resilient_top_share', 'risk_high_share', 'risk_medium_share', 'risk_min_indicators',
                 'posterior_improvement_probability', 'posterior_grid_points',
                 'growth_prior_groups', 'region_break_pp', 'prior_kappa_min', 'prior_kappa_max',
                 'prior_min_schools', 'share_sum_tolerance_pp', 'min_procedures_ranked'] %}
select
{% for code in codes %}
    max(value) filter (where parameter_code = '{{ code }}')::double precision  -- noqa: LT02
        as {{ code }}{{ "," if not loop.last }}  -- noqa: LT02
{% endfor %}
from {{ ref('method_parameters') }}
