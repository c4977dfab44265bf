{#-
  Statistical functions used by the marts, created in schema `stats` before every run.
  Wilson score interval; Newcombe's hybrid score interval for a difference of two proportions
  (Newcombe 1998, method 10); Fisher's exact test, two-sided, summing the hypergeometric probabilities
  not above the observed one (with scipy's relative tolerance 1e-7); the standard normal distribution
  function (from erfc); the regularized incomplete beta function (continued fraction, modified Lentz) and,
  from it, Welch's two-sample t-test and the binomial tails; the regularized incomplete gamma functions
  (series / continued fraction) and, from them, the Poisson and chi-squared tails; the normal quantile
  (AS241). Checked against scipy in tests/test_stats_functions.py.

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

-- Stirling's series error stirlerr(z) = lgamma(z) − ((z − 1/2) ln z − z + ln(2π)/2), for z >= 1: five terms of the
-- asymptotic series from z = 15 (error below 1e-16), lgamma itself below. NULL below 1.
create or replace function stats.stirlerr(z double precision)
returns double precision language sql immutable parallel safe as $$
    select case
        when z is null or z = 'NaN'::double precision or z < 1 then null
        when z = 'Infinity'::double precision then 0
        when z < 15 then lgamma(z) - (z - 0.5) * ln(z) + z - 0.5 * ln(2 * pi())
        else (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / (1188 * z * z)) / (z * z)) / (z * z))
            / (z * z)) / z
    end
$$;

-- Loader's deviance term bd0(x, m) = x ln(x / m) + m − x >= 0 (Loader 2000, "Fast and accurate computation of
-- binomial probabilities"), without the cancellation of the direct form when x is close to m: the series
-- (x − m) v + 2x Σ v^(2j+1) / (2j + 1), v = (x − m) / (x + m), for m within a factor 3 of x (Loader takes it within
-- 1.22: the wider band keeps ln(x/m)'s rounding, x·1e-16, out of every result above 1e-300). For x >= 1 and
-- m > 0; NULL otherwise.
create or replace function stats.bd0(x double precision, m double precision)
returns double precision language plpgsql immutable parallel safe as $$
declare
    v double precision; v2 double precision; s double precision; s_next double precision; ej double precision;
begin
    if x is null or m is null or x = 'NaN' or m = 'NaN' or x < 1 or m <= 0 then return null; end if;
    if x = 'Infinity' or m = 'Infinity' then return null; end if;
    if abs(x - m) >= 0.5 * (x + m) then
        return x * (case when m > 1e-290 then ln(x / m) else ln(x) - ln(m) end) + m - x;
    end if;
    v := (x - m) / (x + m);
    if abs(v) < 1e-100 then return 0; end if;  -- x = m to within rounding (no square can underflow)
    v2 := v * v; s := (x - m) * v; ej := 2 * x * v;
    -- |v| < 0.5: each term is below 1/4 of the previous one, so the sum settles within 30 terms
    for j in 1..60 loop
        ej := ej * v2;
        s_next := s + ej / (2 * j + 1);
        exit when s_next = s;
        s := s_next;
    end loop;
    return s;
end
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
    if aa >= 1 and bb >= 1 then
        -- Loader's form of ln(x^a (1−x)^b Γ(a+b) / (Γ(a) Γ(b))): −bd0(a, (a+b)x) − bd0(b, (a+b)(1−x)) +
        -- ln(ab / (2π(a+b)))/2 + stirlerr terms; the direct form loses ~1e-16·lgamma(a+b) (2e-9 at a+b = 10^6)
        log_front := -stats.bd0(aa, (aa + bb) * xx) - stats.bd0(bb, (aa + bb) * (1 - xx))
            + 0.5 * (ln(aa) + ln(bb) - ln(aa + bb) - ln(2 * pi()))
            + stats.stirlerr(aa + bb) - stats.stirlerr(aa) - stats.stirlerr(bb) - ln(aa);
    else
        log_front := lgamma(aa + bb) - lgamma(aa) - lgamma(bb) + aa * ln(xx) + bb * ln(1 - xx) - ln(aa);
    end if;
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

-- Binomial tail P(X >= k) for X ~ Binomial(n, p), from P(X >= k) = I_p(k, n − k + 1) for 1 <= k <= n;
-- 1 for k <= 0 and 0 for k > n. A fractional k is rounded up (P(X >= 2.5) = P(X >= 3)). NULL unless n is
-- a whole number 0 <= n <= 10^7 (betainc's domain) and 0 <= p <= 1; NULL for a NULL or NaN argument.
-- Accuracy is betainc's: measured against scipy 2.2e-13 relative for n <= 10^4, 7.6e-13 for n = 10^6.
create or replace function stats.binom_sf(k double precision, n double precision, p double precision)
returns double precision language sql immutable parallel safe as $$
    select case
        when k is null or n is null or p is null or 'NaN' in (k, n, p) then null
        when n < 0 or n > 1e7 or n <> floor(n) or p < 0 or p > 1 then null
        when ceil(k) <= 0 then 1
        when ceil(k) > n then 0
        else stats.betainc(ceil(k), n - ceil(k) + 1, p)
    end
$$;

-- Binomial distribution function P(X <= k) = I_{1−p}(n − k, k + 1) for 0 <= k < n (the lower tail directly,
-- not 1 − binom_sf); 0 for k < 0 and 1 for k >= n. A fractional k is rounded down. NULL as for binom_sf.
create or replace function stats.binom_cdf(k double precision, n double precision, p double precision)
returns double precision language sql immutable parallel safe as $$
    select case
        when k is null or n is null or p is null or 'NaN' in (k, n, p) then null
        when n < 0 or n > 1e7 or n <> floor(n) or p < 0 or p > 1 then null
        when floor(k) < 0 then 0
        when floor(k) >= n then 1
        -- where betainc would swap to 1 − I_{1−(1−p)}(k + 1, n − k), take p itself, not 1 − (1 − p)
        when p < (floor(k) + 2) / (n + 3) then 1 - stats.betainc(floor(k) + 1, n - floor(k), p)
        else stats.betainc(n - floor(k), floor(k) + 1, 1 - p)
    end
$$;

-- Regularized incomplete gamma functions P(a, x) (upper = false) and Q(a, x) = 1 − P(a, x) (upper = true):
-- the series for x < a + 1 and the continued fraction (modified Lentz) otherwise, each giving the smaller of
-- the two directly (Numerical Recipes gser/gcf). The prefactor x^a e^−x / Γ(a) is taken in logs; for a >= 15
-- it is −bd0(a, x) + ln(a)/2 − ln(2π)/2 − stirlerr(a) (bd0 and stirlerr above), which keeps the relative
-- error near 1e-13 for a = 10^4, where a ln x − x − lgamma(a) would lose 2e-11. NULL for a not above 0 or
-- above 10^7, a NaN or NULL argument; P = 0 for x <= 0, x = +Infinity gives P = 1. Below e^−700 the smaller
-- value is 0. The terms needed grow as √a: the loop allows them.
create or replace function stats.gamma_regularized(a double precision, x double precision, upper boolean)
returns double precision language plpgsql immutable parallel safe as $$
declare
    log_front double precision; total double precision; term double precision; ap double precision;
    b double precision; c double precision; d double precision; h double precision;
    an double precision; delta double precision; terms integer; smaller double precision;
    tiny constant double precision := 1e-30;
begin
    if a is null or x is null or upper is null or a = 'NaN' or x = 'NaN' then return null; end if;
    if a <= 0 or a > 1e7 then return null; end if;
    if x <= 0 then return case when upper then 1 else 0 end; end if;
    if x = 'Infinity' then return case when upper then 0 else 1 end; end if;
    if a < 15 or x < 1e-100 then
        log_front := a * ln(x) - x - lgamma(a);
    else
        log_front := -stats.bd0(a, x) + 0.5 * ln(a) - 0.5 * ln(2 * pi()) - stats.stirlerr(a);
    end if;
    terms := 400 + 20 * ceil(sqrt(a))::integer;
    if x < a + 1 then
        -- series: P = prefactor · Σ x^n / (a (a+1) … (a+n))
        total := 1 / a; term := 1 / a; ap := a;
        if x >= 1e-100 then
            for i in 1..terms loop
                ap := ap + 1;
                term := term * (x / ap);
                total := total + term;
                exit when term < total * 1e-17;
            end loop;
        end if;
        smaller := least(stats.safe_exp(log_front + ln(total)), 1);
        return case when upper then 1 - smaller else smaller end;
    end if;
    -- continued fraction: Q = prefactor · 1 / (x + 1 − a − 1·(1 − a) / (x + 3 − a − 2·(2 − a) / (x + 5 − a − …)))
    b := x + 1 - a; c := 1 / tiny; d := 1 / b; h := d;
    for i in 1..terms loop
        an := -i * (i - a);
        b := b + 2;
        d := an * d + b;
        if abs(d) < tiny then d := tiny; end if;
        c := b + an / c;
        if abs(c) < tiny then c := tiny; end if;
        d := 1 / d;
        delta := d * c;
        h := h * delta;
        exit when abs(delta - 1) < 1e-16;
    end loop;
    smaller := least(stats.safe_exp(log_front + ln(h)), 1);
    return case when upper then smaller else 1 - smaller end;
end
$$;

create or replace function stats.gammainc(a double precision, x double precision)
returns double precision language sql immutable parallel safe as $$
    select stats.gamma_regularized(a, x, false)
$$;

create or replace function stats.gammaincc(a double precision, x double precision)
returns double precision language sql immutable parallel safe as $$
    select stats.gamma_regularized(a, x, true)
$$;

-- Poisson tail P(X >= k) for X ~ Poisson(lambda) = P(k, lambda) (regularized lower incomplete gamma) for k >= 1;
-- 1 for k <= 0, 0 for lambda = 0 and k >= 1. A fractional k is rounded up. NULL for a negative lambda, k above
-- 10^7 (the gamma function's domain), a NULL or NaN argument.
create or replace function stats.poisson_sf(k double precision, lambda double precision)
returns double precision language sql immutable parallel safe as $$
    select case
        when k is null or lambda is null or k = 'NaN'::double precision or lambda = 'NaN'::double precision then null
        when lambda < 0 then null
        when ceil(k) <= 0 then 1
        when lambda = 0 and ceil(k) <= 1e7 then 0
        else stats.gammainc(ceil(k), lambda)
    end
$$;

-- Chi-squared distribution with df degrees of freedom (df > 0, not necessarily whole): upper tail
-- Q(df/2, x/2) and distribution function P(df/2, x/2); x <= 0 gives 1 (sf) and 0 (cdf). NULL for df not
-- above 0 or above 2·10^7, a NULL or NaN argument.
create or replace function stats.chi2_sf(x double precision, df double precision)
returns double precision language sql immutable parallel safe as $$
    select stats.gammaincc(df / 2, x / 2)
$$;

create or replace function stats.chi2_cdf(x double precision, df double precision)
returns double precision language sql immutable parallel safe as $$
    select stats.gammainc(df / 2, x / 2)
$$;

-- Standard normal quantile Φ⁻¹(p): Wichura's AS241 (PPND16, Appl. Statist. 37:477–484, 1988), three rational
-- approximations (|p − 0.5| <= 0.425; r = √(−ln min(p, 1 − p)) <= 5; r > 5), coefficients as in CPython's
-- statistics._normal_dist_inv_cdf; relative error about 1e-16, no refinement step needed. p = 0 gives
-- −Infinity and p = 1 gives +Infinity; NULL for p outside [0, 1], NULL or NaN.
create or replace function stats.normal_ppf(p double precision)
returns double precision language plpgsql immutable parallel safe as $$
declare
    q double precision; r double precision; x double precision;
begin
    if p is null or p = 'NaN' or p < 0 or p > 1 then return null; end if;
    if p = 0 then return '-Infinity'; end if;
    if p = 1 then return 'Infinity'; end if;
    q := p - 0.5;
    if abs(q) <= 0.425 then
        r := 0.180625 - q * q;
        return q * (((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r
            + 6.7265770927008700853e4) * r + 4.5921953931549871457e4) * r + 1.3731693765509461125e4) * r
            + 1.9715909503065514427e3) * r + 1.3314166789178437745e2) * r + 3.3871328727963666080e0)
            / (((((((5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r + 3.9307895800092710610e4) * r
            + 2.1213794301586595867e4) * r + 5.3941960214247511077e3) * r + 6.8718700749205790830e2) * r
            + 4.2313330701600911252e1) * r + 1.0);
    end if;
    r := sqrt(-ln(case when q < 0 then p else 1 - p end));
    if r <= 5 then
        r := r - 1.6;
        x := (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r
            + 1.27045825245236838258e0) * r + 3.64784832476320460504e0) * r + 5.76949722146069140550e0) * r
            + 4.63033784615654529590e0) * r + 1.42343711074968357734e0)
            / (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r
            + 1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0) * r
            + 2.05319162663775882187e0) * r + 1.0);
    else
        r := r - 5;
        x := (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r
            + 2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0) * r
            + 5.46378491116411436990e0) * r + 6.65790464350110377720e0)
            / (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r
            + 7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r
            + 5.99832206555887937690e-1) * r + 1.0);
    end if;
    return case when q < 0 then -x else x end;
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

-- Standard normal density φ(x); 0 far in the tails (no underflow), NULL for NULL or NaN.
create or replace function stats.normal_pdf(x double precision)
returns double precision language sql immutable parallel safe as $$
    select case when x is null or x = 'NaN'::double precision then null
        when abs(x) > 37.5 then 0
        else stats.safe_exp(-x * x / 2) / sqrt(2 * pi()) end
$$;

-- GLS common location shift of up to three thresholds (dynamics on the probit scale, docs/research/
-- issue9_dynamics.md §2): with d the thresholds' changes net of the region and V their covariance, solve
-- V x = 1 over the thresholds used (m_j true; Gaussian elimination, V symmetric positive definite) and return
-- {β̂, SE₀²} = {−x′d / x′1, 1 / x′1}; positive β̂ = fewer pupils below each threshold (improvement). NULL when
-- no threshold is used, an element is missing or not finite, or V is not positive definite.
create or replace function stats.gls_location_shift(
    d1 double precision, d2 double precision, d3 double precision,
    v11 double precision, v12 double precision, v13 double precision,
    v22 double precision, v23 double precision, v33 double precision,
    m1 boolean, m2 boolean, m3 boolean
) returns double precision[] language plpgsql immutable parallel safe as $$
declare
    dd double precision[] := array[d1, d2, d3];
    vv double precision[] := array[v11, v12, v13, v12, v22, v23, v13, v23, v33];
    used boolean[] := array[coalesce(m1, false), coalesce(m2, false), coalesce(m3, false)];
    idx integer[] := '{}';
    a double precision[];   -- the used block of V, row-major k × k
    b double precision[];   -- right-hand side (ones), then the solution x
    d double precision[];
    k integer; i integer; j integer; r integer; f double precision; s double precision := 0; sd double precision := 0;
begin
    for i in 1..3 loop
        if used[i] then idx := idx || i; end if;
    end loop;
    k := cardinality(idx);
    if k = 0 then return null; end if;
    a := array_fill(0::double precision, array[k * k]);
    b := array_fill(1::double precision, array[k]);
    d := array_fill(0::double precision, array[k]);
    for i in 1..k loop
        d[i] := dd[idx[i]];
        if d[i] is null or d[i] in ('NaN', 'Infinity', '-Infinity') or abs(d[i]) > 1e100 then return null; end if;
        if abs(d[i]) < 1e-100 then d[i] := 0; end if;
        for j in 1..k loop
            a[(i - 1) * k + j] := vv[(idx[i] - 1) * 3 + idx[j]];
            if a[(i - 1) * k + j] is null or a[(i - 1) * k + j] in ('NaN', 'Infinity', '-Infinity')
                or abs(a[(i - 1) * k + j]) > 1e100 then return null; end if;
            -- a negligible element is 0: no product below can underflow
            if abs(a[(i - 1) * k + j]) < 1e-100 then a[(i - 1) * k + j] := 0; end if;
        end loop;
    end loop;
    -- forward elimination without pivoting (stable for a positive definite matrix)
    for r in 1..k loop
        if a[(r - 1) * k + r] <= 1e-100 then return null; end if;
        for i in (r + 1)..k loop
            f := a[(i - 1) * k + r] / a[(r - 1) * k + r];
            if abs(f) < 1e-100 then continue; end if;
            for j in r..k loop
                a[(i - 1) * k + j] := a[(i - 1) * k + j] - f * a[(r - 1) * k + j];
            end loop;
            b[i] := b[i] - f * b[r];
        end loop;
    end loop;
    -- back substitution
    for i in reverse k..1 loop
        for j in (i + 1)..k loop
            b[i] := b[i] - a[(i - 1) * k + j] * b[j];
        end loop;
        b[i] := b[i] / a[(i - 1) * k + i];
    end loop;
    for i in 1..k loop
        s := s + b[i];
        sd := sd + b[i] * d[i];
    end loop;
    if s <= 1e-100 then return null; end if;
    return array[-sd / s, 1 / s];
end
$$;

-- Delta-method covariance of the probits of two cumulative shares p_j <= p_k of one multinomial sample of n:
-- Cov(Φ⁻¹(p̂_j), Φ⁻¹(p̂_k)) = p_j (1 − p_k) / (n φ(Φ⁻¹ p_j) φ(Φ⁻¹ p_k)); the variance when j = k. NULL unless
-- 0 < p_j <= p_k < 1 and n > 0.
create or replace function stats.probit_cov(pj double precision, pk double precision, n double precision)
returns double precision language sql immutable parallel safe as $$
    select case when pj > 0 and pj <= pk and pk < 1 and n > 0 and n < 1e15 and pj > 1e-15 and pk < 1 - 1e-15 then
        pj * (1 - pk) / (n * stats.normal_pdf(stats.normal_ppf(pj)) * stats.normal_pdf(stats.normal_ppf(pk)))
    end
$$;

-- Benjamini–Hochberg q-values of an array of p-values, in the same order: q_(i) = min over p_(k) >= p_(i) of
-- p_(k)·m / k, at most 1 (scipy.stats.false_discovery_control(method='bh')); m counts the p-values that are
-- not NULL, and a NULL stays NULL.
create or replace function stats.bh_qvalues(p double precision[])
returns double precision[] language sql immutable parallel safe as $$
    select array_agg(q order by i) from (
        select
            i,
            -- p-values below 1e-280 are 0 (the quotient cannot underflow)
            case when v is not null then least(min(case when v < 1e-280 then 0 else v * m / r end) over (
                order by v desc nulls first range between unbounded preceding and current row
            ), 1) end as q
        from (
            select i, case when v = 'NaN'::double precision then null else v end as v,
                count(case when v = 'NaN'::double precision then null else v end) over () as m,
                row_number() over (order by case when v = 'NaN'::double precision then null else v end nulls last) as r
            from unnest(p) with ordinality as t (v, i)
        ) as ranked
    ) as adjusted
$$;
{% endmacro %}
