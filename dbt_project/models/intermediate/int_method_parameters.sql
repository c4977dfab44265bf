-- Method parameters of the current rules as one row, so models read them by name.
select
    {% for code in ['min_cell_size', 'fail_increase_pp', 'dynamics_min_n', 'confidence_z', 'alpha',
                    'fisher_small_count', 'reliability_high_n', 'reliability_medium_n', 'reliability_low_n'] %}
    max(value) filter (where parameter_code = '{{ code }}')::double precision as {{ code }}{{ "," if not loop.last }}
    {% endfor %}
from {{ ref('method_parameters') }}
