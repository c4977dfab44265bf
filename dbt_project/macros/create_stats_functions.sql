{#-
  Statistical functions used by the marts, created in schema `stats` before every run.
  Wilson score interval; Newcombe's hybrid score interval for a difference of two proportions
  (Newcombe 1998, method 10); Fisher's exact test, two-sided, summing the hypergeometric probabilities
  not above the observed one (with scipy's relative tolerance 1e-7); the standard normal distribution
  function (from erfc); the regularized incomplete beta function (continued fraction, modified Lentz) and,
  from it, Welch's two-sample t-test. Checked against scipy in tests/test_stats_functions.py.

  Every function is total: whatever the arguments (counts 0, 1 or 10^6, a count above n, shares 0 and
  1, NULL, NaN, z = ±40), it returns a number or NULL and never raises. PostgreSQL raises on float8
  underflow (exp(x) for x < −745, and any product or quotient that rounds a non-zero value to 0), on the
  square root of a negative number, on ln(0) and on lgamma(0): the guards below keep every intermediate
  value away from those edges (exponents are cut at −700, tiny magnitudes are treated as 0 before they
  are multiplied). Arguments outside a function's domain (a count above n, n below 1, a negative
  variance) give NULL: there is no figure to compute.
-#}
{% macro create_stats_functions() %}
create schema if not exists stats;

-- exp() that returns 0 where the result would underflow (PostgreSQL raises instead) and stays finite.
create or replace function stats.safe_exp(x double precision)
returns double precision language sql immutable parallel safe as $$
    select case when x is null or x = 'NaN'::double precision then null when x < -700 then 0 else exp(least(x, 700)) end
$$;

-- Wilson score interval of x successes out of n (a count, n >= 1; NULL outside 0 <= x <= n). A share
-- below 1e-100 is 0 and z below 1e-100 is 0, so no square underflows; n above 1e15 gives the share itself.
create or replace function stats.wilson_bound(x double precision, n double precision, z double precision, side integer)
returns double precision language sql immutable parallel safe as $$
    select case
        when n >= 1 and x >= 0 and x <= n and z >= 0 and z <= 1e6 and n <> 'NaN'::double precision then
            case
                when n > 1e15 then x / n
                else (
                    select greatest(least(
                        (p + zz * zz / (2 * n) + side * zz * sqrt(greatest(p * (1 - p) / n + zz * zz / (4 * n * n), 0)))
                        / (1 + zz * zz / n),
                        1), 0)
                    from (
                        select
                            case when x / n < 1e-100 then 0 else x / n end as p,
                            case when z < 1e-100 then 0 else z end as zz
                    ) as args
                )
            end
    end
$$;

create or replace function stats.wilson_lower(x double precision, n double precision, z double precision)
returns double precision language sql immutable parallel safe as $$
    select stats.wilson_bound(x, n, z, -1)
$$;

create or replace function stats.wilson_upper(x double precision, n double precision, z double precision)
returns double precision language sql immutable parallel safe as $$
    select stats.wilson_bound(x, n, z, 1)
$$;

-- Interval for p1 - p0 (year t minus year t-1); NULL where either Wilson interval is undefined.
create or replace function stats.newcombe_lower(
    x1 double precision, n1 double precision, x0 double precision, n0 double precision, z double precision
) returns double precision language sql immutable parallel safe as $$
    select d - sqrt(power(greatest(p1 - l1, 1e-150), 2) + power(greatest(u0 - p0, 1e-150), 2))
    from (
        select
            x1 / n1 - x0 / n0 as d, x1 / n1 as p1, x0 / n0 as p0,
            stats.wilson_lower(x1, n1, z) as l1, stats.wilson_upper(x0, n0, z) as u0
        where n1 >= 1 and n0 >= 1 and x1 >= 0 and x1 <= n1 and x0 >= 0 and x0 <= n0
    ) as bounds
$$;

create or replace function stats.newcombe_upper(
    x1 double precision, n1 double precision, x0 double precision, n0 double precision, z double precision
) returns double precision language sql immutable parallel safe as $$
    select d + sqrt(power(greatest(u1 - p1, 1e-150), 2) + power(greatest(p0 - l0, 1e-150), 2))
    from (
        select
            x1 / n1 - x0 / n0 as d, x1 / n1 as p1, x0 / n0 as p0,
            stats.wilson_upper(x1, n1, z) as u1, stats.wilson_lower(x0, n0, z) as l0
        where n1 >= 1 and n0 >= 1 and x1 >= 0 and x1 <= n1 and x0 >= 0 and x0 <= n0
    ) as bounds
$$;

-- ln C(n, k); NULL outside 0 <= k <= n.
create or replace function stats.log_choose(n double precision, k double precision)
returns double precision language sql immutable parallel safe as $$
    select case when k >= 0 and n >= k then lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) end
$$;

-- Two-sided Fisher exact test of the 2x2 table [[x1, n1 - x1], [x0, n0 - x0]], in log space (a table
-- of 10^6 has probabilities far below the smallest float8); NULL outside 0 <= x <= n.
create or replace function stats.fisher_exact_p(x1 integer, n1 integer, x0 integer, n0 integer)
returns double precision language sql immutable parallel safe as $$
    with table_margins as (
        select x1::bigint + x0 as m, n1::bigint + n0 as total
        where x1 >= 0 and x0 >= 0 and x1 <= n1 and x0 <= n0
    ),
    probabilities as (
        select
            k,
            stats.log_choose(n1, k) + stats.log_choose(n0, m - k) - stats.log_choose(total, m) as log_p
        from table_margins, generate_series(greatest(0, m - n0), least(m, n1)) as k
    )
    select case when count(*) > 0 then least(1.0, sum(stats.safe_exp(log_p))) end from probabilities
    where log_p <= (select log_p from probabilities where k = x1) + ln(1 + 1e-7)
$$;

-- Standard normal distribution function, from erfc (no series cut-off); 0 below −37.5, where the true
-- value is under 1e-307 and 0.5·erfc would underflow.
create or replace function stats.normal_cdf(x double precision)
returns double precision language sql immutable parallel safe as $$
    select case
        when x is null or x = 'NaN'::double precision then null
        when x < -37.5 then 0
        when x > 37.5 then 1
        else 0.5 * erfc(-x / sqrt(2::double precision))
    end
$$;

-- Upper tail 1 − Φ(x), without the cancellation of 1 − normal_cdf(x) far in the tail.
create or replace function stats.normal_sf(x double precision)
returns double precision language sql immutable parallel safe as $$
    select stats.normal_cdf(-x)
$$;

-- Regularized incomplete beta I_x(a, b): the continued fraction of Numerical Recipes (betacf) with the
-- modified Lentz method, using the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where it converges faster.
-- NULL for a or b not above 0, or above 10^7 (where lgamma's rounding would cost more than 1e-7). The
-- prefactor is taken in logs; below e^−700 the value is 0 (or 1).
-- A very small x (below 1e-100) gives the first term of the series, x^a (1−x)^b / (a B(a, b)), whose
-- relative error is of the order of x·b. The fraction needs O(√max(a, b)) terms: the loop allows them.
create or replace function stats.betainc(a double precision, b double precision, x double precision)
returns double precision language plpgsql immutable parallel safe as $$
declare
    swap boolean;
    aa double precision; bb double precision; xx double precision;
    log_front double precision; c double precision; d double precision; f double precision;
    m integer; numerator double precision; delta double precision; terms integer;
    tiny constant double precision := 1e-30;
begin
    if x is null or a is null or b is null or x = 'NaN' or a = 'NaN' or b = 'NaN' then return null; end if;
    if a <= 0 or b <= 0 or a > 1e7 or b > 1e7 then return null; end if;
    if x <= 0 then return 0; end if;
    if x >= 1 then return 1; end if;
    swap := x > (a + 1) / (a + b + 2);
    if swap then aa := b; bb := a; xx := 1 - x; else aa := a; bb := b; xx := x; end if;
    log_front := lgamma(aa + bb) - lgamma(aa) - lgamma(bb) + aa * ln(xx) + bb * ln(1 - xx) - ln(aa);
    if log_front < -700 then
        return case when swap then 1 else 0 end;
    end if;
    if xx < 1e-100 then
        return case when swap then 1 - exp(log_front) else exp(log_front) end;
    end if;
    f := 1; c := 1; d := 0;
    terms := 400 + 20 * ceil(sqrt(greatest(aa, bb)))::integer;
    for i in 0..terms loop
        m := i / 2;
        if i = 0 then
            numerator := 1;
        elsif i % 2 = 0 then
            numerator := m * (bb - m) * xx / ((aa + 2 * m - 1) * (aa + 2 * m));
        else
            numerator := -(aa + m) * (aa + bb + m) * xx / ((aa + 2 * m) * (aa + 2 * m + 1));
        end if;
        if abs(numerator) < 1e-150 then numerator := 0; end if;
        d := 1 + numerator * d;
        if abs(d) < tiny then d := tiny; end if;
        d := 1 / d;
        c := 1 + numerator / c;
        if abs(c) < tiny then c := tiny; end if;
        delta := c * d;
        f := f * delta;
        exit when abs(1 - delta) < 1e-15;
    end loop;
    -- the first term (numerator 1) makes f = 1 + 1 / (1 + d1 / (1 + d2 / ...)), so the fraction is f - 1
    if f - 1 <= 0 then
        return case when swap then 1 else 0 end;
    end if;
    if swap then return greatest(1 - stats.safe_exp(log_front + ln(f - 1)), 0); end if;
    return least(stats.safe_exp(log_front + ln(f - 1)), 1);
end
$$;

-- Welch's two-sample t-test (unequal variances), two-sided p-value, for means m, sample variances v and
-- sizes n of two groups (Welch–Satterthwaite degrees of freedom). NULL without two observations in each
-- group, with a negative variance, or with no variance at all (both groups constant: nothing to test);
-- sizes above 1e15 and variances above 1e100 are outside the domain (NULL).
create or replace function stats.welch_p(
    m1 double precision, v1 double precision, n1 double precision,
    m0 double precision, v0 double precision, n0 double precision
) returns double precision language plpgsql immutable parallel safe as $$
declare
    s1 double precision; s0 double precision; t double precision; df double precision;
begin
    if m1 is null or v1 is null or n1 is null or m0 is null or v0 is null or n0 is null then return null; end if;
    if 'NaN' in (m1, v1, n1, m0, v0, n0) then return null; end if;
    if n1 < 2 or n0 < 2 or v1 < 0 or v0 < 0 or abs(m1) > 1e100 or abs(m0) > 1e100 then return null; end if;
    -- squared standard errors; a negligible one is 0, so its square cannot underflow
    if n1 > 1e15 or n0 > 1e15 or v1 > 1e100 or v0 > 1e100 then return null; end if;
    -- squared standard errors; a negligible variance is 0, so no square or quotient can underflow
    s1 := case when v1 < 1e-80 then 0 else v1 / n1 end;
    s0 := case when v0 < 1e-80 then 0 else v0 / n0 end;
    if s1 + s0 = 0 then return null; end if;
    t := (m1 - m0) / sqrt(s1 + s0);
    if abs(t) > 1e100 then return 0; end if;
    if abs(t) < 1e-100 then t := 0; end if;
    df := power(s1 + s0, 2) / (power(s1, 2) / (n1 - 1) + power(s0, 2) / (n0 - 1));
    -- beyond 10^7 degrees of freedom t is normal to within 1e-7 (and the fraction would need 10^4 terms)
    if df > 1e7 then return least(2 * stats.normal_sf(abs(t)), 1); end if;
    return stats.betainc(df / 2, 0.5, df / (df + t * t));
end
$$;

-- P(X1 < X0) for independent X1 ~ Beta(a1, b1), X0 ~ Beta(a0, b0): Σ over cells of the exact mass of X0
-- (from its distribution function) times the mean of X1's distribution function at the cell's edges.
-- The edges (i / cells)² crowd near 0, where shares of «2» live and densities with a < 1 are unbounded.
-- NULL unless every shape parameter is above 0 and there is at least one cell.
create or replace function stats.beta_less_probability(
    a1 double precision, b1 double precision, a0 double precision, b0 double precision, cells integer
) returns double precision language sql immutable parallel safe as $$
    select case when a1 > 0 and b1 > 0 and a0 > 0 and b0 > 0 and cells >= 1 then (
        select least(greatest(sum((f0 - prev_f0) * (f1 + prev_f1) / 2), 0), 1)
        from (
            select f0, f1, lag(f0) over (order by i) as prev_f0, lag(f1) over (order by i) as prev_f1
            from (
                select
                    i,
                    stats.betainc(a1, b1, power(i::double precision / cells, 2)) as f1,
                    stats.betainc(a0, b0, power(i::double precision / cells, 2)) as f0
                from generate_series(0, cells) as i
            ) as edges
        ) as q
        where prev_f0 is not null
    ) end
$$;
{% endmacro %}
