//! `zhibiao serve`, and the same server started inside another program.
//!
//! [`start`] does everything `serve` does before it waits for a signal: checks the
//! options, opens the store (loading the built-in catalogue into an empty one), makes
//! sure an admin token exists, binds the address, starts the notifier and the API,
//! and answers with a [`Running`] server. The command line calls it and then waits
//! for Ctrl-C or SIGTERM; the integration tests call it on port 0 with a temporary
//! store and a fixed clock, inside the test process, and stop it when they are done.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::CliResult;
use crate::api;
use crate::catalogue::Catalogue;
use crate::clock::Clock;
use crate::notify::deliver::{Hub, NotifyConfig};
use crate::notify::notifier::Notifier;
use crate::store::{hash_secret, new_secret, Role, Store, Token};

/// Everything `serve` needs, checked.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub db: PathBuf,
    pub addr: SocketAddr,
    pub cache_mb: u64,
    /// Reads need a token too.
    pub private: bool,
    /// When figures become public (`--publish`).
    pub publish: api::Publish,
    pub cors_origins: Vec<String>,
    pub body_timeout: std::time::Duration,
    pub notify: NotifyConfig,
    /// The one clock: "now", and the zone of "today" (`--tz`).
    pub clock: Clock,
    /// The admin secret (`ZHIBIAO_ADMIN_TOKEN`); without it, the first start writes a
    /// generated one to `<db>/admin-token`.
    pub admin_token: Option<String>,
    /// Failed authentications from one address, and the window they are counted in,
    /// before it is locked out until the window ends; `None` is the API's default (20
    /// in 60 s). Not a flag: tests shorten the window so as not to wait a minute.
    pub auth_throttle: Option<(u32, std::time::Duration)>,
    /// Connection caps, the header-read timeout and the shutdown grace period.
    pub limits: api::ServeLimits,
    /// Bytes of request bodies held in memory at once.
    pub body_budget: u64,
    /// Reverse proxies whose forwarding headers name the client (`--trust-proxy`).
    pub trusted_proxies: Vec<api::peer::IpNet>,
    /// The home region's 发文单位 for its bulletins (`--issuer`), set at start when
    /// given; its 文号 prefix and 落款 stay as they were set.
    pub issuer: Option<String>,
}

impl ServeConfig {
    /// The configuration `zhibiao serve ARGS` would run with (the flags of `serve`,
    /// without the command name), with the admin secret given here instead of read
    /// from the environment, and the system clock in the zone of `--tz`.
    pub fn from_args<I, T>(args: I, admin_token: Option<&str>) -> Result<ServeConfig, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser, Debug)]
        struct Serve {
            #[command(flatten)]
            args: super::ServeArgs,
        }
        let parsed = <Serve as clap::Parser>::try_parse_from(
            std::iter::once(std::ffi::OsString::from("serve"))
                .chain(args.into_iter().map(Into::into)),
        )
        .map_err(|e| e.to_string())?;
        let mut cfg = parsed.args.config().map_err(|e| e.to_string())?;
        cfg.admin_token = admin_token.map(str::to_string);
        Ok(cfg)
    }

    /// Checks what can be checked before touching the store.
    fn check(&self) -> CliResult {
        super::check_admin_secret(self.admin_token.as_deref())?;
        for o in &self.cors_origins {
            let rest = o
                .strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"))
                .unwrap_or("");
            if rest.is_empty() || rest.contains('/') {
                return Err(format!(
                    "--cors-origin '{o}' must look like https://host[:port], with no path"
                )
                .into());
            }
        }
        if let Some(i) = &self.issuer {
            crate::domain::RegionSettings::new(i, None, None)
                .map_err(|e| format!("--issuer: {}", e.message()))?;
        }
        Ok(())
    }
}

/// Sets the home region's issuer (`--issuer`), keeping its other bulletin settings;
/// audited like a `PUT /v1/regions/{region}/settings`, and a no-op when unchanged.
fn set_home_issuer(store: &Store, issuer: &str, now: chrono::DateTime<chrono::Utc>) -> CliResult {
    let home = store
        .catalogue_title()?
        .map(|c| c.region)
        .filter(|r| !r.is_empty())
        .ok_or("--issuer needs a home region: the store has no catalogue loaded")?;
    let old = store.region_settings(&home)?;
    let settings = crate::domain::RegionSettings::new(
        issuer,
        old.as_ref().and_then(|s| s.doc_number_prefix.as_deref()),
        old.as_ref().and_then(|s| s.signature.as_deref()),
    )
    .map_err(|e| format!("--issuer: {}", e.message()))?;
    store.put_region_settings(&home, &settings, "serve --issuer", now)?;
    store.flush()?;
    Ok(())
}

/// A server started by [`start`].
#[derive(Debug)]
pub struct Running {
    /// Where it listens (the port chosen when port 0 was asked for).
    pub addr: SocketAddr,
    pub store: Store,
    /// The notifier, for a step or a daily run on demand.
    pub notifier: Notifier,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    tasks: Option<crate::notify::notifier::Tasks>,
}

impl Running {
    /// The base URL, e.g. `http://127.0.0.1:38213`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, stops the notifier and
    /// flushes the store. Once the returned future is done and the `Running` is gone,
    /// nothing of the server holds the store: it can be opened again.
    pub async fn stop(mut self) -> Result<(), crate::store::StoreError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        if let Some(tasks) = self.tasks.take() {
            tasks.stop().await;
        }
        self.store.flush()
    }
}

/// Opens the store, binds, and starts the API and the notifier on the current tokio
/// runtime. See the module documentation.
pub async fn start(cfg: ServeConfig) -> Result<Running, Box<dyn std::error::Error>> {
    cfg.check()?;
    let db = cfg.db.clone();
    let cache = cfg.cache_mb * 1024 * 1024;
    let store = tokio::task::spawn_blocking(move || Store::open(&db, cache)).await??;
    if !store.is_seeded()? {
        let cat = Catalogue::builtin()?;
        let report = store.import_catalogue(&cat, "catalogue", cfg.clock.now())?;
        store.flush()?;
        tracing::info!(
            indicators = report.indicators_created,
            document = %cat.document,
            "empty store: loaded the built-in catalogue"
        );
    }
    ensure_admin_token(&store, &cfg.db, cfg.admin_token.as_deref(), &cfg.clock)?;
    if let Some(issuer) = &cfg.issuer {
        set_home_issuer(&store, issuer, cfg.clock.now())?;
    }
    let listener = tokio::net::TcpListener::bind(cfg.addr).await?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() && !cfg.private {
        tracing::warn!(%addr, "listening on a non-loopback address while reads are public; add --private to require tokens for reads");
    }
    let mut ctx = api::Context::new(store.clone());
    ctx.private = cfg.private;
    ctx.publish = cfg.publish;
    ctx.body_timeout = cfg.body_timeout;
    ctx.cors_origins = cfg.cors_origins;
    ctx.clock = cfg.clock.clone();
    if let Some((limit, window)) = cfg.auth_throttle {
        ctx.throttle = Arc::new(api::Throttle::new(limit, window));
    }
    ctx.notify = Arc::new(Hub::new(cfg.notify.listening_on(addr)));
    ctx.body_budget = api::body::BodyBudget::new(cfg.body_budget);
    ctx.trusted_proxies = cfg.trusted_proxies;
    let notifier = Notifier::new(
        ctx.queries.clone(),
        ctx.clock.clone(),
        ctx.notify.clone(),
        ctx.changes.clone(),
    )
    .reviewed(cfg.publish == api::Publish::Reviewed);
    let ctx: api::Ctx = ctx.into();
    let tasks = notifier.start();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(api::serve(ctx, listener, cfg.limits, async {
        let _ = rx.await;
    }));
    tracing::info!(db = %cfg.db.display(), "zhibiao listening on http://{addr}");
    Ok(Running {
        addr,
        store,
        notifier,
        stop: Some(tx),
        task,
        tasks: Some(tasks),
    })
}

/// `zhibiao serve`: [`start`], one line on stdout saying where, then serve until
/// Ctrl-C or SIGTERM.
pub(super) fn serve(cfg: ServeConfig, json: bool) -> CliResult {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let db = cfg.db.clone();
        let running = start(cfg).await?;
        let url = running.url();
        // One line on stdout, for scripts that start the server on port 0.
        if json {
            outln!("{}", serde_json::json!({"listening": url, "db": db}));
        } else {
            outln!("zhibiao listening on {url}");
        }
        {
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
        }
        shutdown_signal().await;
        running.stop().await?;
        tracing::info!("stopped; store flushed");
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Makes sure an admin token exists. With `ZHIBIAO_ADMIN_TOKEN` set, that secret is the
/// admin token. Otherwise the first start generates one, stores only its hash, and
/// writes the secret once to `<db>/admin-token` (mode 0600).
pub fn ensure_admin_token(
    store: &Store,
    db: &Path,
    env_token: Option<&str>,
    clock: &Clock,
) -> CliResult {
    use super::ADMIN_TOKEN_ENV;
    let existing = store.token("admin")?;
    if let Some(secret) = env_token.map(str::trim).filter(|s| !s.is_empty()) {
        let hash = hex::encode(hash_secret(secret));
        if existing.as_ref().map(|t| &t.hash) != Some(&hash) {
            store.put_token(
                &Token {
                    name: "admin".into(),
                    role: Role::Admin,
                    units: vec![],
                    hash,
                    created_at: clock.now(),
                    region: String::new(),
                },
                true,
            )?;
            store.flush()?;
        }
        tracing::info!("admin token taken from {ADMIN_TOKEN_ENV}");
        return Ok(());
    }
    if existing.is_some() {
        return Ok(());
    }
    let secret = new_secret();
    let path = db.join("admin-token");
    super::write_private(&path, &format!("{secret}\n"))?;
    store.put_token(
        &Token {
            name: "admin".into(),
            role: Role::Admin,
            units: vec![],
            hash: hex::encode(hash_secret(&secret)),
            created_at: clock.now(),
            region: String::new(),
        },
        true,
    )?;
    store.flush()?;
    tracing::warn!(
        path = %path.display(),
        "generated an admin token; it is written once to this file (mode 0600). Keep it, then delete the file"
    );
    Ok(())
}
