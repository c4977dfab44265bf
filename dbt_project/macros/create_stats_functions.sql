{#-
  Statistical functions used by the marts, created in schema `stats` before every run.
  Wilson score interval; Newcombe's hybrid score interval for a difference of two proportions
  (Newcombe 1998, method 10); Fisher's exact test, two-sided, summing the hypergeometric probabilities
  not above the observed one (with scipy's relative tolerance 1e-7). Checked against scipy in tests.
-#}
{% macro create_stats_functions() %}
create schema if not exists stats;

create or replace function stats.wilson_lower(x double precision, n double precision, z double precision)
returns double precision language sql immutable parallel safe as $$
    select case when n > 0 then
        ((x / n) + z * z / (2 * n) - z * sqrt((x / n) * (1 - x / n) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    end
$$;

create or replace function stats.wilson_upper(x double precision, n double precision, z double precision)
returns double precision language sql immutable parallel safe as $$
    select case when n > 0 then
        ((x / n) + z * z / (2 * n) + z * sqrt((x / n) * (1 - x / n) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    end
$$;

-- Interval for p1 - p0 (year t minus year t-1).
create or replace function stats.newcombe_lower(
    x1 double precision, n1 double precision, x0 double precision, n0 double precision, z double precision
) returns double precision language sql immutable parallel safe as $$
    select x1 / n1 - x0 / n0 - sqrt(
        power(x1 / n1 - stats.wilson_lower(x1, n1, z), 2) + power(stats.wilson_upper(x0, n0, z) - x0 / n0, 2))
$$;

create or replace function stats.newcombe_upper(
    x1 double precision, n1 double precision, x0 double precision, n0 double precision, z double precision
) returns double precision language sql immutable parallel safe as $$
    select x1 / n1 - x0 / n0 + sqrt(
        power(stats.wilson_upper(x1, n1, z) - x1 / n1, 2) + power(x0 / n0 - stats.wilson_lower(x0, n0, z), 2))
$$;

create or replace function stats.log_choose(n double precision, k double precision)
returns double precision language sql immutable parallel safe as $$
    select lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)
$$;

-- Two-sided Fisher exact test of the 2x2 table [[x1, n1 - x1], [x0, n0 - x0]].
create or replace function stats.fisher_exact_p(x1 integer, n1 integer, x0 integer, n0 integer)
returns double precision language sql immutable parallel safe as $$
    with table_margins as (
        select x1 + x0 as m, n1 + n0 as total
    ),
    probabilities as (
        select
            k,
            exp(stats.log_choose(n1, k) + stats.log_choose(n0, m - k) - stats.log_choose(total, m)) as p
        from table_margins, generate_series(greatest(0, m - n0), least(m, n1)) as k
    )
    select least(1.0, sum(p)) from probabilities
    where p <= (select p from probabilities where k = x1) * (1 + 1e-7)
$$;
-- Standard normal distribution function (Abramowitz & Stegun 26.2.17, absolute error below 7.5e-8).
create or replace function stats.normal_cdf(x double precision)
returns double precision language sql immutable parallel safe as $$
    with t as (select 1 / (1 + 0.2316419 * abs(x)) as k)
    select case when x >= 0 then 1 - tail else tail end
    from (
        select exp(-x * x / 2) / sqrt(2 * pi()) * k * (0.319381530 + k * (-0.356563782 + k * (1.781477937
            + k * (-1.821255978 + k * 1.330274429)))) as tail
        from t
    ) as q
$$;
{% endmacro %}
