"""Settings for the VPS.org panel, read from the environment.

Every value has a name in ../shared/DESIGN.md. A value that cannot be read fails
loudly at start-up (ImproperlyConfigured) rather than being silently replaced.
"""

import re
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _bool(name: str, default: bool) -> bool:
    """Read a boolean strictly: a typo such as DEBUG=ture must not pass as False."""
    raw = env.str(name, default="")
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def _positive_float(name: str, default: float) -> float:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 300:
        raise ImproperlyConfigured(f"{name} must be between 0 and 300 seconds, not {raw!r}")
    return value


DEBUG = _bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    # Development only: a fixed key so sessions survive a restart of `make run`.
    SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"  # noqa: S105

# Old keys still accepted for sessions and password-reset links while SECRET_KEY rotates
# (README "Key rotation"); signing uses SECRET_KEY only.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's sessions page
    "django_htmx",
    "panel",
    "servers",
    # Accounts (issue 13): after "panel", so the panel's templates override allauth's.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.usersessions",
]

MIDDLEWARE = [
    # First: its time covers everything below, static files included (panel/access_log.py).
    "panel.access_log.access_log",
    # Writes a page leaves for after its answer (the shared cache of what it read).
    "panel.after_response.after_response",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: every view's answer, none of the static files.
    "panel.middleware.private_no_store",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # allauth's UserSessionsMiddleware, recording "last seen" once a minute, not per request.
    "panel.session_activity.SessionActivityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "panel.middleware.method_not_allowed_page",
]

ROOT_URLCONF = "panel.urls"
WSGI_APPLICATION = "panel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "panel.context_processors.team",
            ],
            "builtins": ["django.templatetags.i18n"],
        },
    },
    # Only for the hot fragments of the server pages (servers/jinja.py says why); asked
    # for by servers/fragments.py alone, never by name through Django's loader.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "servers.jinja.environment", "autoescape": True},
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", 60 if not DEBUG else 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several workers write one file: IMMEDIATE takes the write lock when a transaction
    # begins (not halfway, where SQLite cannot wait and answers "database is locked"),
    # and a writer waits up to SQLITE_BUSY_TIMEOUT seconds for it instead of failing.
    # It also serialises every atomic block, which is what makes the team rules
    # (panel.teams) and the database cache's add()/incr() hold across processes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault(
        "timeout", _positive_float("SQLITE_BUSY_TIMEOUT", 20.0)
    )
    # Write-ahead log: readers never wait for a writer, nor a writer for readers; NORMAL
    # sync is safe with WAL (a crash may lose the last commits, never corrupt the file).
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
    )

# With no CACHE_URL: the database cache on the default database (table panel_cache, made by
# `migrate`), which every worker of the machine shares; see panel/cache_backend.py for why
# not the file-based one. Redis (CACHE_URL=redis://...) for several instances. The test suite
# sets CACHE_URL=locmemcache:// (Makefile TEST_ENV).
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}
else:
    CACHES = {
        "default": {
            "BACKEND": "panel.cache_backend.DatabaseCache",
            "LOCATION": "panel_cache",
            # Django's default of 300 entries would cull a busy panel's entries every minute.
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    }
# Several panels (or a test) sharing one Redis keep apart by a prefix of their own.
if CACHE_KEY_PREFIX := env.str("CACHE_KEY_PREFIX", default=""):
    CACHES["default"]["KEY_PREFIX"] = CACHE_KEY_PREFIX
# How long a team's cached server answers stay fresh (servers/cache.py), in seconds.
SERVERS_CACHE_SECONDS = _positive_float("SERVERS_CACHE_SECONDS", 2.0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "servers:list"
LOGOUT_REDIRECT_URL = "account_login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("pt-br", _("Portuguese (Brazil)"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve from the finders when no collectstatic ran (tests, `make run`).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
if (
    not DEBUG
    and not (STATIC_ROOT / "staticfiles.json").exists()
    # collectstatic itself must run with the hashing storage, to write the manifest.
    and sys.argv[1:2] != ["collectstatic"]
):
    # Production settings without collectstatic (e.g. the test suite): keep plain storage,
    # so pages still render; `make serve` and `make deploy-check` run collectstatic.
    STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"

# --- Security: secure by default unless DEBUG ---------------------------------------------
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Only makes the site eligible for the browsers' preload list; nothing is preloaded until
# the operator submits the domain. SECURE_HSTS_PRELOAD=false to stay off the list.
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if _bool("BEHIND_TLS_PROXY", False) else None
)
# A balancer's health check speaks plain HTTP to the instance: answer it, not a redirect.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Django's built-in CSP: no inline script or style anywhere in the pages.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- VPS.org --------------------------------------------------------------------------------
VPSORG_API_URL = env.str("VPSORG_API_URL", default="https://admin.vps.org/api/v1").rstrip("/")
if not VPSORG_API_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"VPSORG_API_URL must be an http(s) URL, not {VPSORG_API_URL!r}")
VPSORG_TIMEOUT = _positive_float("VPSORG_TIMEOUT", 10.0)
# Live pages (servers/live.py): seconds between polls while a server is in transition,
# and while none is (a change made elsewhere then shows within about three of these).
LIVE_BUSY_SECONDS = _positive_float("LIVE_BUSY_SECONDS", 2.0)
LIVE_IDLE_SECONDS = _positive_float("LIVE_IDLE_SECONDS", 10.0)
# Pages of a long list asked at once, once the first page has told how many there are
# (servers.client's DEFAULT_LIST_CONCURRENCY and MAX_LIST_CONCURRENCY; a test keeps them equal).
_list_concurrency = env.str("VPSORG_LIST_CONCURRENCY", default="8").strip()
if not (_list_concurrency.isascii() and _list_concurrency.isdigit()) or not (
    1 <= int(_list_concurrency) <= 16
):
    raise ImproperlyConfigured(
        f"VPSORG_LIST_CONCURRENCY must be a whole number from 1 to 16, not {_list_concurrency!r}"
    )
VPSORG_LIST_CONCURRENCY = int(_list_concurrency)
# Bulk power actions (servers/bulk.py): how many calls to VPS.org one request makes at once.
BULK_CONCURRENCY = env.int("BULK_CONCURRENCY", default=4)
if not 1 <= BULK_CONCURRENCY <= 32:
    raise ImproperlyConfigured(f"BULK_CONCURRENCY must be between 1 and 32, not {BULK_CONCURRENCY}")

# The currency of the plans' prices (ISO 4217), shown in the user's locale (servers/money.py).
PRICE_CURRENCY = env.str("PRICE_CURRENCY", default="USD").strip().upper()
if not re.fullmatch(r"[A-Z]{3}", PRICE_CURRENCY):
    raise ImproperlyConfigured(
        f"PRICE_CURRENCY must be a three-letter ISO 4217 code such as USD, not {PRICE_CURRENCY!r}"
    )

# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])

INVITATION_EXPIRY_DAYS = env.int("INVITATION_EXPIRY_DAYS", default=7)

# --- Accounts: django-allauth (panel/accounts.py is the panel's adapter) ------------------
SIGNUP_ENABLED = _bool("SIGNUP_ENABLED", True)
# Sign-up only through the identity provider (OIDC_* below): the password sign-up is closed.
SIGNUP_SSO_ONLY = _bool("SIGNUP_SSO_ONLY", False)
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_ADAPTER = "panel.accounts.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "panel.accounts.SocialAccountAdapter"
ACCOUNT_FORMS = {
    name: f"panel.forms.{form}"
    for name, form in (
        ("login", "LoginForm"),
        ("signup", "AccountSignupForm"),
        ("change_password", "ChangePasswordForm"),
        ("reset_password", "ResetPasswordForm"),
        ("reset_password_from_key", "ResetPasswordKeyForm"),
        ("add_email", "AddEmailForm"),
        ("reauthenticate", "ReauthenticateForm"),
    )
}
MFA_FORMS = {
    "authenticate": "panel.forms.AuthenticateForm",
    "reauthenticate": "panel.forms.MFAReauthenticateForm",
    "activate_totp": "panel.forms.ActivateTOTPForm",
    "add_webauthn": "panel.forms.AddWebAuthnForm",
}
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="none")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # a reset for an unknown address mails nothing
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # stays signed in here; the other sessions end
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[VPS.org Panel] "
# Login throttling: after LOGIN_FAILURE_LIMIT failures for one username or from one address,
# every attempt is refused for up to LOGIN_LOCKOUT_SECONDS, even with the right password; the
# second-factor step counts the same way. allauth keeps the counts in the default cache:
# shared by every worker and instance when CACHE_URL is redis.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
_login_rate = f"{LOGIN_FAILURE_LIMIT}/{LOGIN_LOCKOUT_SECONDS}s"
ACCOUNT_RATE_LIMITS = {"login_failed": f"{_login_rate}/ip,{_login_rate}/key"}
MFA_ADAPTER = "panel.accounts.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = "VPS.org Panel"
# A code of the period before or after is accepted too: phones' clocks drift.
MFA_TOTP_TOLERANCE = 1
MFA_RECOVERY_CODES_SHOW_ONCE = True
# Email verification is off by default (ACCOUNT_EMAIL_VERIFICATION): two-factor must not wait on it.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# WebAuthn over plain http://localhost (make run, the browser tests); never in production.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
USERSESSIONS_TRACK_ACTIVITY = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
# Single sign-on through OpenID Connect: on only when the issuer and the client are set.
OIDC_ISSUER_URL = env.str("OIDC_ISSUER_URL", default="").rstrip("/")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_NAME = env.str("OIDC_NAME", default="Single sign-on")
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
if OIDC_ISSUER_URL and OIDC_CLIENT_ID:
    if not OIDC_ISSUER_URL.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"OIDC_ISSUER_URL must be an http(s) URL, not {OIDC_ISSUER_URL!r}"
        )
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": OIDC_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {"server_url": OIDC_ISSUER_URL},
            }
        ],
    }
elif OIDC_ISSUER_URL or OIDC_CLIENT_ID:
    raise ImproperlyConfigured("OIDC_ISSUER_URL and OIDC_CLIENT_ID are set together, or neither.")
# Scrubs tokens and Authorization headers from error reports (pages and mails).
DEFAULT_EXCEPTION_REPORTER_FILTER = "panel.debug.PanelExceptionReporterFilter"

# Django 6.1's MAILERS, built from one EMAIL_URL (e.g. smtp+tls://user:pass@host:587).
# Production default: the machine's own mail server on localhost:25 (Django's own default
# host and port), not a development backend: mail then leaves by the usual route, and a
# panel without a mail server still works (invitations also show the link to pass on).
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
_email_options = {
    option: _email[key]
    for key, option in (
        ("EMAIL_HOST", "host"),
        ("EMAIL_PORT", "port"),
        ("EMAIL_HOST_USER", "username"),
        ("EMAIL_HOST_PASSWORD", "password"),
        ("EMAIL_USE_TLS", "use_tls"),
        ("EMAIL_USE_SSL", "use_ssl"),
    )
    if _email.get(key) and "smtp" in _email["EMAIL_BACKEND"]
}
MAILERS = {"default": {"BACKEND": _email["EMAIL_BACKEND"], "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="panel@localhost")

# Email addresses, comma-separated: who receives error reports when DEBUG is false.
ADMINS = env.list("ADMINS", default=[])
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json_line": {"format": "%(message)s"},
    },
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "access": {"class": "logging.StreamHandler", "formatter": "json_line"},
        # Error reports to ADMINS, scrubbed of the token by panel's exception reporter filter.
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django adds its own console handler for "django" when DEBUG: route all through root once.
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO" if DEBUG else "WARNING"},
        # One JSON line per request (panel/access_log.py); ACCESS_LOG=false turns it off.
        "panel.access": {
            "handlers": ["access"],
            "level": "INFO" if _bool("ACCESS_LOG", True) else "WARNING",
            "propagate": False,
        },
    },
}
