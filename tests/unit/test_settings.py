import json

import pytest

from continuum.settings import SettingsError, load_settings


def load(env=None, **kw):
    return load_settings(env or {}, read_files=False, **kw)


def test_defaults():
    s = load()
    assert s.db_path == "./data/memory.db" and s.api_port == 8420 and s.max_body_bytes == 1_048_576
    assert s.storage_backend == "sqlite" and s.shared_cache_backend is None
    assert s.require_api_key is False and s.cache_ttl == 300


def test_every_spec_variable_is_a_setting():
    from continuum.settings import ENV_NAMES

    spec = """CONTINUUM_ENV CONTINUUM_DB_PATH POSTGRES_URL POSTGRES_POOL_SIZE POSTGRES_MAX_OVERFLOW REDIS_URL
    UPSTASH_REDIS_REST_URL UPSTASH_REDIS_REST_TOKEN CONTINUUM_CACHE_ENABLED CONTINUUM_CACHE_TTL
    CONTINUUM_API_PORT CONTINUUM_CORS_ORIGINS CONTINUUM_MAX_BODY_BYTES CONTINUUM_REQUIRE_API_KEY
    CONTINUUM_API_KEY CONTINUUM_ENCRYPTION_KEY CONTINUUM_JWT_SECRET CONTINUUM_ENABLE_EMBEDDINGS
    CONTINUUM_ENABLE_FEDERATION CONTINUUM_ENABLE_WEBHOOKS CONTINUUM_LOG_LEVEL SENTRY_DSN
    SENTRY_TRACES_SAMPLE_RATE POSTHOG_API_KEY POSTHOG_HOST STRIPE_SECRET_KEY STRIPE_WEBHOOK_SECRET""".split()
    assert set(spec) <= set(ENV_NAMES)


@pytest.mark.parametrize(
    "env,fragment",
    [
        ({"CONTINUUM_CACHE_TTL": "abc"}, "CONTINUUM_CACHE_TTL='abc': must be an integer"),
        ({"CONTINUUM_CACHE_TTL": "0"}, "CONTINUUM_CACHE_TTL"),
        ({"CONTINUUM_API_PORT": "70000"}, "between 1 and 65535"),
        ({"CONTINUUM_REQUIRE_API_KEY": "maybe"}, "must be true or false"),
        ({"CONTINUUM_ENV": "prod"}, "must be one of"),
        ({"CONTINUUM_LOG_LEVEL": "loud"}, "CONTINUUM_LOG_LEVEL"),
        ({"POSTGRES_URL": "mysql://x"}, "POSTGRES_URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"SENTRY_TRACES_SAMPLE_RATE": "2"}, "SENTRY_TRACES_SAMPLE_RATE"),
        ({"CONTINUUM_MAX_BODY_BYTES": "10"}, "CONTINUUM_MAX_BODY_BYTES"),
        ({"CONTINUUM_TYPO_SETTING": "1"}, "unknown setting CONTINUUM_TYPO_SETTING"),
        ({"REDIS_URL": "redis://a", "UPSTASH_REDIS_REST_URL": "https://b", "UPSTASH_REDIS_REST_TOKEN": "t"},
         "choose one"),
        ({"UPSTASH_REDIS_REST_URL": "https://b"}, "UPSTASH_REDIS_REST_TOKEN is missing"),
        ({"CONTINUUM_API_KEY": "short"}, "at least 16"),
        ({"CONTINUUM_JWT_SECRET": "short"}, "at least 32"),
        ({"CONTINUUM_ENCRYPTION_KEY": "not-a-key"}, "CONTINUUM_ENCRYPTION_KEY"),
        ({"CONTINUUM_ENABLE_EMBEDDINGS": "true"}, "CONTINUUM_EMBEDDING_PROVIDER"),
        ({"CONTINUUM_STORAGE": "postgres"}, "needs POSTGRES_URL"),
        ({"CONTINUUM_CORS_ORIGINS": "example.com"}, "full origin"),
        ({"CONTINUUM_ENV": "production", "CONTINUUM_REQUIRE_API_KEY": "true"}, "no admin could create keys"),
    ],
)  # fmt: skip
def test_bad_settings_fail_with_one_clear_line(env, fragment):
    with pytest.raises(SettingsError) as caught:
        load(env)
    message = str(caught.value)
    assert fragment in message and "\n" not in message


def test_secrets_never_appear_in_errors_or_repr():
    with pytest.raises(SettingsError) as caught:
        load({"POSTGRES_URL": "mysql://user:hunter2@db/x"})
    assert "hunter2" not in str(caught.value)
    s = load({"CONTINUUM_API_KEY": "super-secret-admin-key", "CONTINUUM_JWT_SECRET": "j" * 40})
    assert "super-secret-admin-key" not in repr(s) and "jjjj" not in repr(s)


def test_precedence_env_over_dotenv_over_json(tmp_path):
    (tmp_path / "continuum_config.json").write_text(json.dumps({"cache_ttl": 10, "CONTINUUM_API_PORT": 9000,
                                                                "cors_origins": ["https://a.example"]}))  # fmt: skip
    (tmp_path / ".env").write_text("# comment\nexport CONTINUUM_CACHE_TTL=20\nCONTINUUM_LOG_LEVEL='debug'\n")
    s = load_settings({"CONTINUUM_CACHE_TTL": "30"}, directory=tmp_path)
    assert s.cache_ttl == 30 and s.api_port == 9000 and s.log_level == "DEBUG"
    assert s.cors_origins == ("https://a.example",)
    s = load_settings({}, directory=tmp_path)
    assert s.cache_ttl == 20


def test_config_file_errors_are_one_line(tmp_path):
    (tmp_path / "continuum_config.json").write_text("{not json")
    with pytest.raises(SettingsError, match="not valid JSON"):
        load_settings({}, directory=tmp_path)
    (tmp_path / "continuum_config.json").write_text(json.dumps({"cache_tll": 5}))
    with pytest.raises(SettingsError, match="unknown setting 'cache_tll'"):
        load_settings({}, directory=tmp_path)
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings({"CONTINUUM_CONFIG_FILE": str(tmp_path / "missing.json")}, directory=tmp_path)


def test_backend_selection():
    assert load({"POSTGRES_URL": "postgresql://localhost/x"}).storage_backend == "postgres"
    assert load({"REDIS_URL": "redis://localhost"}).shared_cache_backend == "redis"
    assert load({"REDIS_URL": "redis://localhost", "CONTINUUM_CACHE_ENABLED": "false"}).shared_cache_backend is None
    assert load({"CONTINUUM_CORS_ORIGINS": "https://a.example, https://b.example"}).cors_origins == (
        "https://a.example", "https://b.example",
    )  # fmt: skip


def test_read_replicas_settings():
    primary = "postgresql://u:pw@primary/db"
    s = load({"POSTGRES_URL": primary, "POSTGRES_READ_URLS": "postgresql://u:r1pass@r1/db, postgresql://u:r2pass@r2/db",
              "POSTGRES_READ_MAX_LAG": "5", "REDIS_URL": "redis://cache:6379/0"})  # fmt: skip
    group = s.postgres
    assert group.read_urls == ("postgresql://u:r1pass@r1/db", "postgresql://u:r2pass@r2/db")
    assert group.read_max_lag == 5.0 and group.lsn_redis_url == "redis://cache:6379/0"
    assert "r1pass" not in repr(group) and "r1pass" not in repr(s)
    assert load({"POSTGRES_URL": primary}).postgres.lsn_redis_url is None  # no replicas: Redis not used for them
    for env, fragment in [
        ({"POSTGRES_URL": primary, "POSTGRES_READ_URLS": "mysql://u:secretpw@r1/db"}, "POSTGRES_READ_URLS"),
        ({"POSTGRES_READ_URLS": "postgresql://r1/db"}, "needs PostgreSQL storage"),
        ({"POSTGRES_URL": primary, "POSTGRES_READ_MAX_LAG": "0"}, "POSTGRES_READ_MAX_LAG"),
    ]:
        with pytest.raises(SettingsError) as caught:
            load(env)
        assert fragment in str(caught.value) and "secretpw" not in str(caught.value)
