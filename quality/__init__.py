"""Data-quality checks: Great Expectations suites over each run's loads and over the marts, results in qc.

    python -m quality validate --stage feeds    # before dbt: validate and block this run's loads
    python -m quality validate --stage marts    # after dbt: validate the marts, close the run

Suites are data (``expectations/suites/*.yml``); what every run saw is written to the ``qc`` schema, from
which ``python -m report`` builds the analysts' report.
"""
