{#- Reference rows with a validity period: for the same key, two rows must not be valid in the same year. -#}
{% test validity_not_overlapping(model, columns) %}
with numbered as (
    select *, row_number() over () as row_id from {{ model }}
)

select {% for column in columns %}a.{{ column }}, {% endfor %}a.valid_from, a.valid_to, b.valid_from as other_valid_from
from numbered as a
inner join numbered as b
    on
        {% for column in columns %}a.{{ column }} = b.{{ column }} and {% endfor %}a.row_id < b.row_id
        and a.valid_from <= b.valid_to
        and b.valid_from <= a.valid_to
{% endtest %}
