{#-
  Statistical functions used by the marts, created in schema `stats` before every run.
  Wilson score interval; Newcombe's hybrid score interval for a difference of two proportions
  (Newcombe 1998, method 10); Fisher's exact test, two-sided, summing the hypergeometric probabilities
  not above the observed one (with scipy's relative tolerance 1e-7); the regularized incomplete beta
  function (continued fraction, modified Lentz) and, from it, Welch's two-sample t-test. Checked against
  scipy in tests.
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

-- Regularized incomplete beta I_x(a, b): the continued fraction of Numerical Recipes (betacf) with the
-- modified Lentz method, using the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where it converges faster.
create or replace function stats.betainc(a double precision, b double precision, x double precision)
returns double precision language plpgsql immutable parallel safe as $$
declare
    swap boolean := x > (a + 1) / (a + b + 2);
    aa double precision; bb double precision; xx double precision;
    front double precision; c double precision; d double precision; f double precision;
    m integer; numerator double precision; delta double precision;
begin
    if x is null or a is null or b is null then return null; end if;
    if x <= 0 then return 0; end if;
    if x >= 1 then return 1; end if;
    if swap then aa := b; bb := a; xx := 1 - x; else aa := a; bb := b; xx := x; end if;
    front := exp(lgamma(aa + bb) - lgamma(aa) - lgamma(bb) + aa * ln(xx) + bb * ln(1 - xx)) / aa;
    f := 1; c := 1; d := 0;
    for i in 0..400 loop
        m := i / 2;
        if i = 0 then
            numerator := 1;
        elsif i % 2 = 0 then
            numerator := m * (bb - m) * xx / ((aa + 2 * m - 1) * (aa + 2 * m));
        else
            numerator := -(aa + m) * (aa + bb + m) * xx / ((aa + 2 * m) * (aa + 2 * m + 1));
        end if;
        d := 1 + numerator * d;
        if abs(d) < 1e-300 then d := 1e-300; end if;
        d := 1 / d;
        c := 1 + numerator / c;
        if abs(c) < 1e-300 then c := 1e-300; end if;
        delta := c * d;
        f := f * delta;
        exit when abs(1 - delta) < 1e-14;
    end loop;
    -- the first term (numerator 1) makes f = 1 + 1 / (1 + d1 / (1 + d2 / ...)), so the fraction is f - 1
    if swap then return 1 - front * (f - 1); end if;
    return front * (f - 1);
end
$$;

-- Welch's two-sample t-test (unequal variances), two-sided p-value, for means m, sample variances v and
-- sizes n of two groups (Welch–Satterthwaite degrees of freedom).
create or replace function stats.welch_p(
    m1 double precision, v1 double precision, n1 double precision,
    m0 double precision, v0 double precision, n0 double precision
) returns double precision language sql immutable parallel safe as $$
    select stats.betainc(df / 2, 0.5, df / (df + t * t))
    from (
        select
            (m1 - m0) / nullif(sqrt(v1 / n1 + v0 / n0), 0) as t,
            power(v1 / n1 + v0 / n0, 2)
            / nullif(power(v1 / n1, 2) / nullif(n1 - 1, 0) + power(v0 / n0, 2) / nullif(n0 - 1, 0), 0) as df
    ) as welch
$$;

-- P(X1 < X0) for independent X1 ~ Beta(a1, b1), X0 ~ Beta(a0, b0): Σ over cells of the exact mass of X0
-- (from its distribution function) times the mean of X1's distribution function at the cell's edges.
-- The edges (i / cells)² crowd near 0, where shares of «2» live and densities with a < 1 are unbounded.
create or replace function stats.beta_less_probability(
    a1 double precision, b1 double precision, a0 double precision, b0 double precision, cells integer
) returns double precision language sql immutable parallel safe as $$
    with edges as (
        select
            i,
            stats.betainc(a1, b1, power(i::double precision / cells, 2)) as f1,
            stats.betainc(a0, b0, power(i::double precision / cells, 2)) as f0
        from generate_series(0, cells) as i
    )
    select least(greatest(sum((f0 - prev_f0) * (f1 + prev_f1) / 2), 0), 1)
    from (select f0, f1, lag(f0) over (order by i) as prev_f0, lag(f1) over (order by i) as prev_f1 from edges) as q
    where prev_f0 is not null
$$;
{% endmacro %}
