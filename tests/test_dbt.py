"""dbt on the loaded demo region: the build passes, and the marts agree with the raw rows computed here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg
import psycopg.sql
import pytest

from warehouse.dbt import run_dbt


@pytest.fixture(scope="module")
def marts(demo_loaded):
    url, _ = demo_loaded
    assert run_dbt(["build"], url=url), "dbt build failed on the demo region"
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def frame(conn, query: str) -> pd.DataFrame:
    cur = conn.execute(query)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def test_vpr_results_from_pupil_rows(marts):
    raw = frame(marts, "select school_id, subject, grade, year, mark, primary_score, max_primary_score "
                       "from raw.vpr_results where mark is not null")
    raw["subject_code"] = raw["subject"].map({"Русский язык": "rus", "Математика": "math"})
    raw["pct"] = 100 * raw["primary_score"].astype(float) / raw["max_primary_score"].astype(float)
    expected = raw.groupby(["school_id", "subject_code", "grade", "year"]).agg(
        n=("mark", "size"),
        share_2=("mark", lambda m: 100 * (m == 2).mean()),
        quality=("mark", lambda m: 100 * (m >= 4).mean()),
        mean=("pct", "mean"),
    )
    mart = frame(marts, "select school_id, subject_code, grade, school_year as year, n_participants, is_suppressed, "
                        "share_mark_2, quality_rate, pass_rate, mean_score_100 from marts.mart_school_results "
                        "where procedure_code = 'vpr' and result_source = 'individual'")
    mart = mart.set_index(["school_id", "subject_code", "grade", "year"]).sort_index()
    expected = expected.sort_index()
    assert list(mart.index) == list(expected.index)
    assert (mart["n_participants"] == expected["n"]).all()
    assert (mart["is_suppressed"] == (expected["n"] < 5)).all()
    shown = ~mart["is_suppressed"]
    assert shown.sum() > 50
    for mart_column, expected_column in [("share_mark_2", "share_2"), ("quality_rate", "quality"),
                                         ("mean_score_100", "mean")]:
        diff = (mart.loc[shown, mart_column].astype(float) - expected.loc[shown, expected_column]).abs()
        assert diff.max() < 0.006, mart_column
    assert ((mart.loc[shown, "pass_rate"].astype(float) + expected.loc[shown, "share_2"] - 100).abs() < 0.006).all()
    assert mart.loc[~shown, ["share_mark_2", "quality_rate", "mean_score_100"]].isna().all().all()


def test_schools_with_only_reports_get_results_from_the_report(marts):
    mart = frame(marts, "select school_id, subject_code, grade, school_year, n_participants, share_mark_2, "
                        "share_mark_5 from marts.mart_school_results where result_source = 'aggregated' "
                        "and not is_suppressed")
    assert len(mart) > 20
    report = frame(marts, "select school_id, subject, grade, year as school_year, n_participants, pct_2, pct_5 "
                          "from raw.vpr_mark_stats where org_level = 'school'")
    report["subject_code"] = report["subject"].map({"Русский язык": "rus", "Математика": "math"})
    merged = mart.merge(report, on=["school_id", "subject_code", "grade", "school_year"])
    assert len(merged) == len(mart)
    assert (merged["n_participants_x"] == merged["n_participants_y"]).all()
    assert ((merged["share_mark_2"] - merged["pct_2"]).abs() < 0.006).all()
    individual = frame(marts, "select distinct school_id from raw.vpr_results")
    assert not set(mart["school_id"]) & set(individual["school_id"])


def test_ege_low_results_use_the_minimum_of_the_year(marts):
    raw = frame(marts, "select school_id, year, test_score, mark, subject_code from raw.gia_results where exam = 'EGE'")
    minimum = {1: 24, 2: 27}
    raw["low"] = [(m is not None and m < 3) if code == 22 else (t is not None and t < minimum[code])
                  for t, m, code in zip(raw["test_score"], raw["mark"], raw["subject_code"], strict=True)]
    expected = raw.groupby(["school_id", "subject_code", "year"])["low"].agg(["size", "mean"])
    mart = frame(marts, "select school_id, subject_code, school_year, n_participants, share_low "
                        "from marts.mart_school_results where procedure_code = 'ege' and not is_suppressed")
    code = {"rus": 1, "math_profile": 2, "math_base": 22}
    mart["gia_code"] = mart["subject_code"].map(code)
    joined = mart.merge(expected.reset_index(), left_on=["school_id", "gia_code", "school_year"],
                        right_on=["school_id", "subject_code", "year"])
    assert len(joined) == len(mart) > 10
    assert (joined["n_participants"] == joined["size"]).all()
    assert ((joined["share_low"].astype(float) - 100 * joined["mean"]).abs() < 0.006).all()
    assert joined["share_low"].astype(float).max() > 0


def test_merged_school_points_to_its_successor(marts, demo_landing):
    import json

    truth = json.loads((demo_landing / "_truth" / "truth.json").read_text(encoding="utf-8"))
    mergers = [r for r in truth["reorganisations"] if r["kind"] in ("присоединение", "слияние")]
    assert mergers
    successors = dict(marts.execute("select school_id, successor_school_id from marts.dim_school "
                                    "where successor_school_id is not null").fetchall())
    assert successors == {r["before"]: r["after"] for r in mergers}


def test_stats_functions_match_scipy(marts):
    from scipy import stats

    rng = np.random.default_rng(3)
    z = stats.norm.ppf(0.975)
    for _ in range(150):
        n1, n0 = (int(v) for v in rng.integers(1, 80, size=2))
        x1, x0 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n0 + 1))
        p, w_low, w_up, n_low, n_up = marts.execute(
            "select stats.fisher_exact_p(%s, %s, %s, %s), stats.wilson_lower(%s, %s, %s), "
            "stats.wilson_upper(%s, %s, %s), stats.newcombe_lower(%s, %s, %s, %s, %s), "
            "stats.newcombe_upper(%s, %s, %s, %s, %s)",
            (x1, n1, x0, n0, x1, n1, z, x1, n1, z, x1, n1, x0, n0, z, x1, n1, x0, n0, z)).fetchone()
        assert p == pytest.approx(stats.fisher_exact([[x1, n1 - x1], [x0, n0 - x0]]).pvalue, rel=1e-6, abs=1e-12)
        ci1 = stats.binomtest(x1, n1).proportion_ci(confidence_level=0.95, method="wilson")
        ci0 = stats.binomtest(x0, n0).proportion_ci(confidence_level=0.95, method="wilson")
        assert (w_low, w_up) == pytest.approx((ci1.low, ci1.high), abs=1e-9)
        d = x1 / n1 - x0 / n0
        # Newcombe's method 10 from the two Wilson intervals
        assert n_low == pytest.approx(d - np.hypot(x1 / n1 - ci1.low, ci0.high - x0 / n0), abs=1e-9)
        assert n_up == pytest.approx(d + np.hypot(ci1.high - x1 / n1, x0 / n0 - ci0.low), abs=1e-9)


def test_incomplete_beta_and_welch_match_scipy(marts):
    from scipy import special, stats

    rng = np.random.default_rng(11)
    for _ in range(60):
        a, b, x = float(rng.uniform(0.3, 60)), float(rng.uniform(0.3, 60)), float(rng.uniform(0, 1))
        value = marts.execute("select stats.betainc(%s, %s, %s)", (a, b, x)).fetchone()[0]
        assert value == pytest.approx(special.betainc(a, b, x), rel=1e-9, abs=1e-12)
    for _ in range(60):
        n1, n0 = (int(v) for v in rng.integers(2, 60, size=2))
        g1 = rng.normal(rng.uniform(30, 70), rng.uniform(5, 25), n1)
        g0 = rng.normal(rng.uniform(30, 70), rng.uniform(5, 25), n0)
        p = marts.execute("select stats.welch_p(%s, %s, %s, %s, %s, %s)",
                          (g1.mean(), g1.var(ddof=1), n1, g0.mean(), g0.var(ddof=1), n0)).fetchone()[0]
        assert p == pytest.approx(stats.ttest_ind(g1, g0, equal_var=False).pvalue, rel=1e-7, abs=1e-12)
    assert marts.execute("select stats.welch_p(50, 0, 5, 50, 0, 5)").fetchone()[0] is None


def test_beta_less_probability_matches_scipy(marts):
    """P(X1 < X0) for two beta distributions (stats.beta_less_probability), shape parameters below 1 included."""
    from scipy import integrate, stats

    rng = np.random.default_rng(5)
    for _ in range(30):
        a1, b1, a0, b0 = (float(v) for v in rng.uniform([0.2, 2, 0.2, 2], [6, 60, 6, 60]))
        value = marts.execute("select stats.beta_less_probability(%s, %s, %s, %s, 200)", (a1, b1, a0, b0)).fetchone()[0]
        expected = integrate.quad(lambda p, a1=a1, b1=b1, a0=a0, b0=b0: stats.beta(a0, b0).pdf(p)
                                  * stats.beta(a1, b1).cdf(p), 0, 1, limit=200)[0]
        assert value == pytest.approx(expected, abs=2e-3), (a1, b1, a0, b0)


def test_region_probit_changes_are_weighted_means_of_school_changes(marts):
    """R_j recomputed with pandas from the schools' probits: the precision-weighted mean of Δy_j over schools with
    at least 10 participants in both years whose threshold has pupils on both sides in both years."""
    from scipy import stats

    probits = frame(marts, "select * from intermediate.int_school_probits")
    # the corrected shares: ½ added to each category, p̃_j = (K_j + ½·j) / (n + ½·C)
    categories = probits["n_categories"].astype(float)
    for j in (1, 2, 3):
        p = (probits[f"k{j}"].astype(float) + 0.5 * j) / (probits["n"].astype(float) + 0.5 * categories)
        present = probits[f"k{j}"].notna()
        assert probits.loc[present, f"y{j}"].astype(float).to_numpy() == pytest.approx(
            stats.norm.ppf(p[present]), abs=1e-12)
    keys = ["school_id", "procedure_code", "subject_code", "grade", "category_kind"]
    pairs = probits.merge(probits.assign(school_year=probits["school_year"] + 1), on=[*keys, "school_year"],
                          suffixes=("", "_prev"))
    pairs = pairs[np.minimum(pairs["n"], pairs["n_prev"]) >= 10]
    region = frame(marts, "select * from intermediate.int_region_changes").set_index(
        ["procedure_code", "subject_code", "grade", "school_year"])
    checked = 0
    for j in (1, 2, 3):
        k, n = f"k{j}", "n"
        inside = pairs[(pairs[k] > 0) & (pairs[k] < pairs[n]) & (pairs[f"{k}_prev"] > 0)
                       & (pairs[f"{k}_prev"] < pairs["n_prev"])].copy()
        inside["w"] = 1 / (inside[f"v{j}{j}"].astype(float) + inside[f"v{j}{j}_prev"].astype(float))
        inside["wdy"] = inside["w"] * (inside[f"y{j}"].astype(float) - inside[f"y{j}_prev"].astype(float))
        sums = inside.groupby(["procedure_code", "subject_code", "grade", "school_year"])[["w", "wdy"]].sum()
        for key, row in sums.iterrows():
            assert region.loc[key, f"probit_change_{j}"] == pytest.approx(row.wdy / row.w, abs=1e-9), (key, j)
            checked += 1
    assert checked > 20


def test_dynamics_classes_follow_the_rules(marts):
    """β̂ and SE₀ recomputed with numpy from the pairs (d, V, thresholds used), SE with the model's cohort term,
    Benjamini–Hochberg per year and direction with scipy, and the class from p ≤ α and q ≤ 0.2."""
    from scipy import stats

    pairs = frame(marts, "select * from intermediate.int_school_result_pairs")
    dynamics = frame(marts, "select * from intermediate.int_school_dynamics")
    keys = ["school_id", "procedure_code", "subject_code", "grade", "school_year"]
    merged = pairs.merge(dynamics, on=keys, suffixes=("", "_dyn"))
    assert len(merged) == len(dynamics) == len(pairs) > 100
    beta, se0 = [], []
    for row in merged.itertuples():
        used = [j for j in (1, 2, 3) if getattr(row, f"m{j}")]
        if not used:
            beta.append(np.nan)
            se0.append(np.nan)
            continue
        v = np.array([[float(getattr(row, f"v{min(a, b)}{max(a, b)}")) for b in used] for a in used])
        d = np.array([float(getattr(row, f"d{j}")) for j in used])
        x = np.linalg.solve(v, np.ones(len(used)))
        beta.append(-(x @ d) / x.sum())
        se0.append(1 / x.sum())
    merged["beta"], merged["se0"] = beta, se0
    assert merged["probit_shift"].astype(float).to_numpy() == pytest.approx(merged["beta"].to_numpy(), abs=1e-9,
                                                                             nan_ok=True)
    # the cohort term: 2τ² = max(0, (1.4826·MAD of β̂)² − median SE₀²) over schools with ≥ 30 pupils in both years
    # and every threshold used, per cell group and year; too few (< 10): the procedure's year
    merged["all_used"] = merged["m1"] & merged["m2"] & (merged["m3"] | (merged["n_categories"] == 3))
    sample = merged[merged["all_used"] & (merged[["n_prev", "n_now"]].min(axis=1) >= 30) & merged["beta"].notna()]

    def tau2x2(group):
        mad = (group["beta"] - group["beta"].median()).abs().median()
        return pd.Series({"n": len(group), "tau2x2": max((1.4826 * mad) ** 2 - group["se0"].median(), 0)})

    family = sample.groupby(keys[1:]).apply(tau2x2, include_groups=False)
    pooled = sample.groupby(["procedure_code", "school_year"]).apply(tau2x2, include_groups=False)
    checked = 0
    for row in merged.itertuples():
        cell, year = (row.procedure_code, row.subject_code, row.grade, row.school_year), row.school_year
        if cell in family.index and family.loc[cell, "n"] >= 10:
            expected = family.loc[cell, "tau2x2"]
        elif (row.procedure_code, year) in pooled.index and pooled.loc[(row.procedure_code, year), "n"] >= 10:
            expected = pooled.loc[(row.procedure_code, year), "tau2x2"]
        else:
            expected = 0
        assert 2 * float(row.tau_cohort) ** 2 == pytest.approx(expected, rel=1e-9, abs=1e-12), row
        checked += expected > 0
    assert checked > 0
    tau = (merged["tau_cohort"].astype(float) ** 2) * 2
    se = np.sqrt(merged["se0"] + tau)
    assert merged["probit_shift_se"].astype(float).to_numpy() == pytest.approx(se.to_numpy(), rel=1e-9, nan_ok=True)
    merged["z"] = merged["beta"] / se
    merged["p"] = 2 * stats.norm.sf(merged["z"].abs())
    for direction, p_one in (("up", stats.norm.sf(merged["z"])), ("down", stats.norm.cdf(merged["z"]))):
        merged[f"p_{direction}"] = p_one
        merged[f"q_{direction}"] = np.nan
        for _, group in merged[merged["z"].notna()].groupby("school_year"):
            merged.loc[group.index, f"q_{direction}"] = stats.false_discovery_control(
                group[f"p_{direction}"].to_numpy(), method="bh")
    for row in merged.itertuples():
        if np.isnan(row.beta):
            expected = "недостаточно данных"
        elif row.beta > 0 and row.p <= 0.05 and row.q_up <= 0.2:
            expected = "положительная"
        elif row.beta < 0 and row.p <= 0.05 and row.q_down <= 0.2:
            expected = "отрицательная"
        elif min(row.n_prev, row.n_now) < 10:
            expected = "недостаточно данных"
        else:
            expected = "без значимых изменений"
        assert row.dynamics_class == expected, row
        if not np.isnan(row.beta):
            assert row.probit_q_bh == pytest.approx(row.q_up if row.beta > 0 else row.q_down, rel=1e-9), row
    assert set(dynamics["dynamics_class"]) >= {"без значимых изменений", "недостаточно данных"}


def test_stable_schools_rarely_get_positive_dynamics(marts, demo_landing):
    """Schools whose planted ability did not change get «положительная» no more often than α = 0.05."""
    import json

    truth = json.loads((demo_landing / "_truth" / "truth.json").read_text(encoding="utf-8"))
    stable = set()
    for school_id, school in truth["schools"].items():
        ability = {int(y): v for y, v in school["latent_ability"].items()}
        changed = {i["year"] for i in school["inflation"]}
        for year, value in ability.items():
            if (year - 1 in ability and abs(value - ability[year - 1]) < 0.05 and year not in changed
                    and year - 1 not in changed and not school["improving_after_support"]):
                stable.add((school_id, year))
    # every comparison counts: a small school left «недостаточно данных» is not a false positive
    mart = frame(marts, "select school_id, school_year, n_prev, n_now, dynamics_class "
                        "from marts.mart_school_dynamics")
    judged = mart[[(s, y) in stable for s, y in zip(mart["school_id"], mart["school_year"], strict=True)]]
    assert len(judged) > 100
    assert (judged["dynamics_class"] == "положительная").mean() <= 0.05
    small = judged[judged[["n_prev", "n_now"]].min(axis=1) < 10]
    assert len(small) > 20
    assert (small["dynamics_class"] == "положительная").mean() <= 0.05


def test_official_status_comes_from_the_lists_and_wins(marts):
    official = {(s, y) for s, y in marts.execute("select school_id, year from raw.shnor_list")}
    mart = frame(marts, "select school_id, school_year, is_official, is_candidate, status_label "
                        "from marts.mart_low_results")
    marked = {(s, y) for s, y, o in zip(mart["school_id"], mart["school_year"], mart["is_official"], strict=True)
              if o}
    assert marked == official and official
    labels = mart.set_index(["school_id", "school_year"])["status_label"]
    assert all(labels[key].startswith("ШНОР (официальный список") for key in official)
    assert not mart["status_label"].str.contains("ШНОР является|является ШНОР").any()


def test_context_index_is_the_mean_of_signed_standardised_components(marts):
    passport = frame(marts, "select school_id, school_year, pct_low_income, pct_disability, pct_non_native_russian, "
                            "pct_prevention_register, pct_single_parent, pct_no_higher_education, "
                            "pct_unemployed_parents from raw.social_passport")
    registry = frame(marts, "select registry_code as school_id, distance_km, (locality = 'rural')::int as rural, "
                            "small_school::int as small from raw.school_registry")
    data = passport.merge(registry, on="school_id")
    components = [c for c in data.columns if c not in ("school_id", "school_year")]
    data[components] = data[components].astype(float)
    expected = {}
    for year, group in data.groupby("school_year"):
        filled = group[components].fillna(group[components].median())
        z = -(filled - filled.mean()) / filled.std(ddof=1)
        expected.update({(s, year): v for s, v in zip(group["school_id"], z.mean(axis=1), strict=True)})
    mart = frame(marts, "select school_id, school_year, context_index from marts.mart_adverse_context")
    assert len(mart) == len(expected) > 50
    for s, y, value in mart.itertuples(index=False):
        assert float(value) == pytest.approx(expected[(s, y)], abs=0.0006)


def test_adverse_context_schools_are_recovered(marts, demo_landing):
    import json

    truth = json.loads((demo_landing / "_truth" / "truth.json").read_text(encoding="utf-8"))["schools"]
    planted = {s for s, v in truth.items() if v["adverse_context"]}
    found = {s for (s,) in marts.execute("select school_id from marts.mart_adverse_context "
                                         "where is_adverse and school_year = 2026")}
    assert len(found & planted) / len(planted) >= 0.8
    assert len(found & planted) / len(found) >= 0.8


def test_roles_bi_reads_marts_only_and_analysts_see_their_municipality(marts):
    everyone = {m for (m,) in marts.execute("select distinct municipality from marts.mart_school_results")}
    assert len(everyone) >= 3

    def as_role(role: str, query: str):
        with marts.transaction():
            marts.execute(psycopg.sql.SQL("set local role {}").format(psycopg.sql.Identifier(role)))
            return marts.execute(query).fetchall()

    assert {m for (m,) in as_role("edu_reader", "select distinct municipality from marts.mart_school_results")} \
        == everyone
    for role, municipality in [("edu_analyst_nazarovo", "г. Назарово"), ("edu_analyst_evenki",
                                                                         "Эвенкийский муниципальный район")]:
        for mart in ("mart_school_results", "mart_school_dynamics", "mart_low_results", "mart_adverse_context",
                     "dim_school", "mart_seed_indicators"):
            seen = {m for (m,) in as_role(role, f"select distinct municipality from marts.{mart}")}
            assert seen == {municipality}, (role, mart)
    for role in ("edu_reader", "edu_analyst_nazarovo"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            as_role(role, "select count(*) from raw.vpr_results")


def test_seed_indicators_come_in_one_query_with_their_denominators(marts):
    mart = frame(marts, "select * from marts.mart_seed_indicators")
    per_cell = mart.groupby(["municipality", "school_year"])["indicator_code"].nunique()
    assert (per_cell == 30).all()
    # counts of official ШНОР per municipality and year, from the raw list and the registry
    lists = frame(marts, "select distinct l.school_id, l.year, r.municipality from raw.shnor_list l "
                         "join raw.school_registry r on r.registry_code = l.school_id")
    shnor = lists.groupby(["municipality", "year"]).size()
    i01 = mart[mart["indicator_code"] == "I01"].set_index(["municipality", "school_year"])
    list_years = set(lists["year"])
    for (municipality, year), row in i01.iterrows():
        if year in list_years:
            assert row["numerator"] == shnor.get((municipality, year), 0) and pd.isna(row["reason_missing"])
        else:  # no list loaded for the year: the count is unknown, not 0
            assert pd.isna(row["numerator"]) and pd.isna(row["value"])
            assert row["reason_missing"].startswith("идентификация не проводилась")
    # a figure hidden under the minimum cell lists no schools (the list would tell the hidden count)
    hidden = mart[mart["reason_missing"].fillna("").str.startswith("скрыто")]
    assert hidden["value"].isna().all() and hidden["numerator"].isna().all()
    assert hidden["school_ids"].isna().all()
    # every missing figure says why; a shown figure has no reason
    assert (mart["value"].notna() | mart["reason_missing"].notna()).all()
    # teachers' indicators over the target group (official ШНОР or ШНСУ), from the raw teachers
    targets = frame(marts, "select school_id, school_year from marts.mart_low_results where is_official union "
                           "select school_id, school_year from marts.mart_adverse_context where is_adverse")
    teachers = frame(marts, "select t.school_id, t.year as school_year, t.support_municipal, "
                            "t.gap_diagnostic_done, t.support_regional, r.municipality from raw.teachers t "
                            "join raw.school_registry r on r.registry_code = t.school_id")
    in_group = teachers.merge(targets, on=["school_id", "school_year"])
    assert len(in_group) > 0
    for code, column in [("I11", "support_municipal"), ("I12", "gap_diagnostic_done"), ("I13", "support_regional")]:
        expected = in_group.groupby(["municipality", "school_year"])[column].agg(["sum", "size"])
        rows = mart[(mart["indicator_code"] == code) & (mart["denominator"] > 0)]
        assert len(rows) == len(expected)
        for row in rows.itertuples():
            assert (row.numerator, row.denominator) == tuple(expected.loc[(row.municipality, row.school_year)])
            assert float(row.value) == pytest.approx(100 * row.numerator / row.denominator, abs=0.05)


def test_risk_levels_follow_their_indicators(marts):
    indicators = frame(marts, "select * from marts.mart_risk_indicators")
    performance = frame(marts, "select school_id, year as school_year, sum(failing) as failing, "
                               "sum(enrolled) as enrolled from raw.performance where period = 'год' group by 1, 2")
    failing = indicators[indicators["indicator_code"] == "failing_pct"].merge(performance,
                                                                              on=["school_id", "school_year"])
    assert len(failing) > 20
    assert ((failing["value"].astype(float) - 100 * failing["failing"] / failing["enrolled"]).abs() < 0.006).all()
    counts = indicators.groupby(["school_id", "school_year", "factor_code"])["is_over_threshold"].agg(["size", "sum"])
    profiles = frame(marts, "select * from marts.mart_risk_profiles where indicators_available > 0")
    for row in profiles.itertuples():
        size, over = counts.loc[(row.school_id, row.school_year, row.factor_code)]
        expected = (None if size < 2 else "высокий" if over >= 0.5 * size else
                    "средний" if over >= 0.25 * size else "низкий")
        level = None if pd.isna(row.risk_level) else row.risk_level
        assert (row.indicators_available, row.indicators_over_threshold, level) == (size, over, expected)
    assert {"высокий", "низкий"} <= set(profiles["risk_level"].dropna())


def test_factor_associations_match_scipy_spearman(marts):
    from scipy import stats

    for x in (-3.5, -1.2, -0.01, 0.0, 0.7, 1.959963984540054, 4.2):
        assert marts.execute("select stats.normal_cdf(%s)", (x,)).fetchone()[0] == pytest.approx(
            stats.norm.cdf(x), abs=1e-7)
    pairs = frame(marts, "select i.indicator_code, i.school_year, i.value::float as x, s.result_score as y "
                         "from intermediate.int_risk_indicators i join intermediate.int_low_results_school_years s "
                         "using (school_id, school_year)")
    mart = frame(marts, "select * from marts.mart_factor_associations where spearman_rho is not null")
    assert len(mart) > 10
    for row in mart.itertuples():
        group = pairs[(pairs["indicator_code"] == row.indicator_code) & (pairs["school_year"] == row.school_year)]
        rho = stats.spearmanr(group["x"], group["y"]).statistic
        assert len(group) == row.n_schools
        assert float(row.spearman_rho) == pytest.approx(rho, abs=0.0006)
        z = np.arctanh(rho) * np.sqrt(len(group) - 3)
        # the normal distribution function is an approximation with absolute error below 7.5e-8
        assert row.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), abs=2e-7)


def test_beta_binomial_shrinkage_matches_scipy_posterior(marts):
    from scipy import stats

    cells = frame(marts, "select procedure_code, subject_code, grade, school_year, n, x, region_share_low, kappa, "
                         "share_low_shrunk from intermediate.int_low_results_cells")
    assert len(cells) > 100
    checked = 0
    for _, group in cells.groupby(["procedure_code", "subject_code", "grade", "school_year"]):
        if len(group) < 5:
            continue
        n, x = group["n"].to_numpy(float), group["x"].to_numpy(float)
        mu = x.sum() / n.sum()
        between = max(np.var(x / n, ddof=1) - np.mean(mu * (1 - mu) / n), 1e-6)  # method of moments
        kappa = min(max(mu * (1 - mu) / between - 1, 1), 10000)
        alpha, beta = kappa * mu, kappa * (1 - mu)
        assert group["region_share_low"].iloc[0] == pytest.approx(mu, abs=1e-12)
        assert group["kappa"].iloc[0] == pytest.approx(kappa, rel=1e-9)
        posterior = stats.beta(alpha + x, beta + n - x).mean()  # the prior updated by each school's counts
        assert group["share_low_shrunk"].to_numpy(float) == pytest.approx(posterior, abs=1e-12)
        checked += 1
    assert checked > 10
    # shrinkage pulls small schools further towards the region than large ones
    cells["pull"] = (cells["share_low_shrunk"] - cells["x"] / cells["n"]).abs()
    small, large = cells[cells["n"] < 15]["pull"].mean(), cells[cells["n"] >= 50]["pull"].mean()
    assert small > large


def test_dynamics_indicators_come_in_strict_and_lenient_variants(marts):
    targets = frame(marts, "select school_id, school_year, municipality from marts.mart_low_results where is_official "
                           "union select school_id, school_year, municipality from marts.mart_adverse_context "
                           "where is_adverse")
    dynamics = frame(marts, "select school_id, school_year, procedure_code, subject_code, grade, dynamics_class, "
                            "trend, in_indicator_base from marts.mart_school_dynamics "
                            "where in_indicator_base")
    scope = frame(marts, "select * from reference.indicator_dynamics_scope")
    rows = targets.merge(dynamics, on=["school_id", "school_year"]).merge(
        scope, on=["procedure_code", "subject_code", "grade"])
    rows["strict"] = rows["dynamics_class"] == "положительная"
    # lenient: the strict variant, or a shift upwards without a significant deterioration
    rows["lenient"] = rows["strict"] | ((rows["trend"] == "тенденция к улучшению")
                                        & (rows["dynamics_class"] != "отрицательная"))
    expected = rows.groupby(["municipality", "school_year", "indicator_code"])[["strict", "lenient"]].sum()
    sizes = rows.groupby(["municipality", "school_year", "indicator_code"]).size()
    mart = frame(marts, "select * from marts.mart_seed_indicators where indicator_code between 'I04' and 'I10' "
                        "and denominator > 0")
    assert len(mart) == len(expected) > 5
    for row in mart.itertuples():
        key = (row.municipality, row.school_year, row.indicator_code)
        assert (row.numerator, row.numerator_lenient, row.denominator) == (
            expected.loc[key, "strict"], expected.loc[key, "lenient"], sizes.loc[key])


def test_growth_percentiles_of_the_same_pupils(marts):
    """Growth percentiles recomputed with pandas from the pupil results and the growth links: the prior score
    in cume_dist groups, the mid-rank of the current score within the group; school medians and intervals."""
    from scipy import stats

    pupils = frame(marts, "select procedure_code, subject_code, grade, school_id, participant_id, school_year, "
                          "score_100::float as score from intermediate.int_pupil_results_unioned "
                          "where score_100 is not null")
    links = frame(marts, "select * from reference.growth_links")
    pairs = []
    for link in links.itertuples():
        now = pupils[(pupils.procedure_code == link.procedure_code) & (pupils.subject_code == link.subject_code)
                     & (pupils.grade == link.grade)]
        prior = pupils[(pupils.procedure_code == link.prior_procedure_code)
                       & (pupils.subject_code == link.prior_subject_code) & (pupils.grade == link.prior_grade)]
        prior = prior.assign(school_year=prior.school_year + 1)[["participant_id", "school_year", "score"]]
        pairs.append(now.merge(prior, on=["participant_id", "school_year"], suffixes=("", "_prior"))
                     .assign(link_code=link.link_code))
    pairs = pd.concat(pairs, ignore_index=True)
    assert len(pairs) > 1000
    by_year = pairs.groupby(["link_code", "school_year"])["score_prior"]
    pairs["group"] = np.ceil(by_year.rank(method="max", pct=True) * 10).astype(int)

    def residual(group: pd.DataFrame) -> pd.Series:
        if group["score_prior"].nunique() > 1:
            slope, intercept = np.polyfit(group["score_prior"], group["score"], 1)
            fitted = intercept + slope * group["score_prior"]
        else:
            fitted = group["score"].mean()
        return (group["score"] - fitted).round(9)

    keys = ["link_code", "school_year", "group"]
    pairs["residual"] = pairs.groupby(keys, group_keys=False)[["score", "score_prior"]].apply(residual)
    by_group = pairs.groupby(keys)["residual"]
    size = by_group.transform("size")
    pairs["growth"] = 100 * (by_group.rank(method="min") - 1 + by_group.rank(method="max")) / (2 * size)

    mart = frame(marts, "select * from intermediate.int_pupil_growth")
    merged = pairs.merge(mart, on=["link_code", "participant_id", "school_year"])
    assert len(merged) == len(pairs) == len(mart)
    assert (merged["group"] == merged["prior_group"]).all()
    assert np.allclose(merged["growth"], merged["growth_percentile"].astype(float))
    # within a group the growth percentile no longer follows the prior score (the residual is ranked)
    corr = pairs.groupby(keys)[["growth", "score_prior"]].corr().xs("score_prior", level=-1)["growth"].dropna()
    assert corr.abs().median() < 0.1

    z = stats.norm.ppf(0.975)
    schools = frame(marts, "select * from marts.mart_school_growth")
    checked = 0
    for (link, school, year), group in pairs.groupby(["link_code", "school_id", "school_year"]):
        row = schools[(schools.link_code == link) & (schools.school_id == school) & (schools.school_year == year)]
        assert len(row) == 1
        row = row.iloc[0]
        assert row.n_pupils == len(group)
        if len(group) < 5:
            assert pd.isna(row.median_growth) and row.growth_class.startswith("скрыто")
            continue
        values = group["growth"].to_numpy()
        half = z / (2 * np.sqrt(len(values)))
        lower, upper = np.quantile(values, max(0.5 - half, 0)), np.quantile(values, min(0.5 + half, 1))
        assert float(row.median_growth) == pytest.approx(np.median(values), abs=0.051)
        assert (float(row.median_growth_lower), float(row.median_growth_upper)) == pytest.approx((lower, upper),
                                                                                                 abs=0.051)
        expected = ("рост выше типичного" if lower > 50 else "рост ниже типичного" if upper < 50
                    else "рост в пределах типичного")
        if min(abs(lower - 50), abs(upper - 50)) > 0.01:
            assert row.growth_class == expected
        checked += 1
    assert checked > 50


def test_low_results_entry_and_exit_events(marts):
    """Entry and exit compare each school's status with its own status the year before: no candidate events
    before the rule can flag anyone (the first 2 years), no list events unless both years' lists are loaded."""
    mart = frame(marts, "select school_id, school_year, is_candidate, is_official, candidate_event, official_event "
                        "from marts.mart_low_results order by school_id, school_year")
    first_scored = frame(marts, "select min(school_year) as y from intermediate.int_low_results_candidates")["y"][0]
    list_years = set(frame(marts, "select distinct year from raw.shnor_list")["year"])
    seen = {"candidate": set(), "official": set()}
    for _, rows in mart.groupby("school_id"):
        previous = None
        for row in rows.itertuples():
            last = previous if previous is not None and previous.school_year == row.school_year - 1 else None
            was_candidate = bool(last is not None and last.is_candidate)
            was_official = bool(last is not None and last.is_official)
            candidate = None if row.school_year < first_scored + 2 else (
                "остаётся" if row.is_candidate and was_candidate else "вход" if row.is_candidate
                else "выход" if was_candidate else None)
            official = None if not {row.school_year, row.school_year - 1} <= list_years else (
                "включена" if row.is_official and not was_official
                else "исключена" if not row.is_official and was_official else None)
            events = tuple(None if pd.isna(v) else v for v in (row.candidate_event, row.official_event))
            assert events == (candidate, official), row
            seen["candidate"].add(candidate)
            seen["official"].add(official)
            previous = row
    assert seen["candidate"] - {None} and seen["official"] - {None}
    assert None in seen["candidate"]  # the warm-up years
