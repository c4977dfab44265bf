"""Superset's configuration in docker-compose.yml (SUPERSET_CONFIG_PATH); secrets come from the environment."""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URI"]

# Russian interface (English as the alternative).
BABEL_DEFAULT_LOCALE = "ru"
LANGUAGES = {"ru": {"flag": "ru", "name": "Русский"}, "en": {"flag": "us", "name": "English"}}

# Caches in Redis (its own database; Airflow's broker uses 0), when compose gives one.
_REDIS = os.environ.get("SUPERSET_REDIS_URL")
if _REDIS:
    _CACHE = {"CACHE_TYPE": "RedisCache", "CACHE_DEFAULT_TIMEOUT": 3600, "CACHE_REDIS_URL": _REDIS}
    CACHE_CONFIG = {**_CACHE, "CACHE_KEY_PREFIX": "superset_"}
    DATA_CACHE_CONFIG = {**_CACHE, "CACHE_KEY_PREFIX": "superset_data_"}
    FILTER_STATE_CACHE_CONFIG = {**_CACHE, "CACHE_KEY_PREFIX": "superset_filter_"}
    EXPLORE_FORM_DATA_CACHE_CONFIG = {**_CACHE, "CACHE_KEY_PREFIX": "superset_explore_"}

# The warehouse is read through a read-only role; SQL Lab must not try to write either.
PREVENT_UNSAFE_DB_CONNECTIONS = True
ROW_LIMIT = 50000
FEATURE_FLAGS = {"DASHBOARD_RBAC": True}
# Behind a reverse proxy with TLS, set ENABLE_PROXY_FIX = True (an environment variable would do).
ENABLE_PROXY_FIX = os.environ.get("SUPERSET_ENABLE_PROXY_FIX", "false").lower() == "true"
